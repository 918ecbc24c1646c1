using VbLoraOrt.Onnx;

namespace VbLoraOrt.OrtFormats.Adapters;

/// <summary>
/// A graph input as an adapter parameter must match it: name, ONNX element type and shape. <see cref="Dims"/> holds
/// null for a symbolic dim (any size fits) and is null itself when the model declares no shape (any shape fits).
/// </summary>
/// <param name="Name">The graph input's name.</param>
/// <param name="DataType">ONNX element type number (<c>TensorProto.DataType</c>).</param>
/// <param name="Dims">Fixed sizes, null per symbolic dim; null when the rank is unknown.</param>
/// <param name="HasDefault">An initializer of the same name gives the input a value when no adapter feeds it.</param>
public sealed record AdapterInput(string Name, int DataType, IReadOnlyList<long?>? Dims, bool HasDefault)
{
    /// <summary>The shape as text, a symbolic dim as <c>?</c> (<c>[4,?]</c>), an unknown rank as <c>[…]</c>.</summary>
    public string ShapeText => Dims == null ? "[…]" : $"[{string.Join(",", Dims.Select(d => d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"))}]";

    /// <summary>The element type's name (<c>FLOAT</c>, <c>INT64</c>…).</summary>
    public string TypeName => ElementType.Name(DataType);
}
