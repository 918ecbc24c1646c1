using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Shapes;

/// <summary>
/// What static inference knows about one value: element type, shape, and — for small integer tensors such as
/// shapes, axes and indices — the contents as dimensions (so <c>Shape → Gather → Concat → Reshape</c> chains
/// keep symbolic sizes like <c>batch</c>).
/// </summary>
/// <param name="ElemType">ONNX element type (<see cref="TensorProto.Types.DataType"/>), 0 when unknown.</param>
/// <param name="Shape">Dimensions, or null when even the rank is unknown.</param>
/// <param name="Content">Values of a scalar or 1-D integer tensor, or null when not known.</param>
public sealed record TensorFacts(int ElemType, IReadOnlyList<Dim>? Shape, IReadOnlyList<Dim>? Content = null)
{
    /// <summary>Nothing known.</summary>
    public static TensorFacts Unknown { get; } = new(0, null);

    /// <summary>The rank, or null when unknown.</summary>
    public int? Rank => Shape?.Count;

    /// <summary>True when every dimension is a known number.</summary>
    public bool IsStaticShape => Shape != null && Shape.All(d => d.IsStatic);

    /// <summary>The shape as numbers; only valid when <see cref="IsStaticShape"/>.</summary>
    public long[] StaticShape() => Shape!.Select(d => d.Value!.Value).ToArray();

    /// <summary>Content as numbers when every element is known, else null.</summary>
    public long[]? StaticContent() =>
        Content != null && Content.All(d => d.IsStatic) ? Content.Select(d => d.Value!.Value).ToArray() : null;

    /// <summary>Known number of elements, or null.</summary>
    public long? StaticElementCount() => IsStaticShape ? StaticShape().Aggregate(1L, (a, d) => a * d) : null;

    /// <summary>Facts of a tensor with this type and the given shape.</summary>
    public static TensorFacts Of(int elemType, params Dim[] shape) => new(elemType, shape);

    /// <summary>Facts from a graph input / output / value_info declaration.</summary>
    public static TensorFacts FromValueInfo(ValueInfoProto info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var tensor = info.Type?.TensorType;
        if (tensor == null)
            return Unknown;
        if (tensor.Shape == null)
            return new TensorFacts(tensor.ElemType, null);
        var dims = tensor.Shape.Dim.Select(d =>
            d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? Dim.Of(d.DimValue)
            : d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam && d.DimParam.Length > 0 ? Dim.Named(d.DimParam)
            : Dim.Unknown).ToArray();
        return new TensorFacts(tensor.ElemType, dims);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{(ElemType == 0 ? "?" : ElementType.Name(ElemType))}[{(Shape == null ? "rank ?" : string.Join(",", Shape))}]";
}
