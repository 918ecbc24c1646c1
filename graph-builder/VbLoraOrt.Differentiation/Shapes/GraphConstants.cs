using System.Runtime.InteropServices;
using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Shapes;

/// <summary>
/// The values of a graph that are fixed when the graph is built: initializers that no graph input overrides
/// and outputs of <c>Constant</c> nodes. Tensors named as variables (e.g. trainable initializers) are not
/// constants, whatever their storage.
/// </summary>
public sealed class GraphConstants
{
    readonly OnnxModel _model;
    readonly Dictionary<string, TensorProto> _tensors = new(StringComparer.Ordinal);

    /// <summary>Collects the constants of <paramref name="model"/>, leaving out <paramref name="variables"/>.</summary>
    public GraphConstants(OnnxModel model, IEnumerable<string>? variables = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        var excluded = new HashSet<string>(variables ?? [], StringComparer.Ordinal);
        foreach (var input in model.Graph.Input)
            excluded.Add(input.Name);
        foreach (var tensor in model.Graph.Initializer)
            if (!excluded.Contains(tensor.Name))
                _tensors[tensor.Name] = tensor;
        foreach (var node in model.Graph.Node)
            if (node.OpType == "Constant" && node.Domain is "" or "ai.onnx" && node.Output.Count == 1
                && FromConstantNode(node) is { } value)
                _tensors[node.Output[0]] = value;
    }

    /// <summary>True when <paramref name="name"/> is a constant.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>The constant tensor, or null when <paramref name="name"/> is not a constant.</summary>
    public TensorProto? Tensor(string name) => _tensors.GetValueOrDefault(name);

    /// <summary>Contents of an integer constant (int32/int64), or null.</summary>
    public long[]? Integers(string name) =>
        Tensor(name) is { } t && (TensorProto.Types.DataType)t.DataType is TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Int32
            ? _model.Tensors.ReadIntegers(t)
            : null;

    /// <summary>Contents of a floating constant (float/double), or null.</summary>
    public double[]? Floats(string name)
    {
        if (Tensor(name) is not { } t)
            return null;
        return (TensorProto.Types.DataType)t.DataType switch
        {
            TensorProto.Types.DataType.Float => _model.Tensors.ReadFloats(t).Select(v => (double)v).ToArray(),
            TensorProto.Types.DataType.Double => MemoryMarshal.Cast<byte, double>(_model.Tensors.ReadBytes(t)).ToArray(),
            _ => null,
        };
    }

    /// <summary>The single value of a one-element floating constant, or null.</summary>
    public double? Scalar(string name) => Floats(name) is [var v] ? v : null;

    static TensorProto? FromConstantNode(NodeProto node)
    {
        foreach (var a in node.Attribute)
        {
            switch (a.Name)
            {
                case "value": return a.T;
                case "value_float": return Tensors.Float("", [], [a.F]);
                case "value_floats": return Tensors.Float("", [a.Floats.Count], a.Floats.ToArray());
                case "value_int": return Tensors.Int64("", [], [a.I]);
                case "value_ints": return Tensors.Int64("", [a.Ints.Count], a.Ints.ToArray());
            }
        }
        return null;
    }
}
