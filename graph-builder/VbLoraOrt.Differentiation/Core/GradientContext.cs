using Onnx;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Core;

/// <summary>What a <see cref="GradientRule"/> sees: the forward node, its outputs' gradients, which inputs need one.</summary>
internal sealed class GradientContext
{
    readonly string?[] _outputGrads;
    readonly bool[] _wants;
    readonly DifferentiablePath _path;
    readonly Func<string, string?> _gradientOf;

    public GradientContext(NodeProto node, string?[] outputGrads, bool[] wants, BackwardBuilder builder, DifferentiablePath path,
        Func<string, string?> gradientOf)
    {
        _path = path;
        _gradientOf = gradientOf;
        Node = node;
        _outputGrads = outputGrads;
        _wants = wants;
        B = builder;
    }

    /// <summary>The forward node.</summary>
    public NodeProto Node { get; }

    /// <summary>Emits the backward ops.</summary>
    public BackwardBuilder B { get; }

    /// <summary>The model's default-domain opset.</summary>
    public long Opset => B.Opset;

    /// <summary>Name of input <paramref name="i"/> ("" when an optional input is absent).</summary>
    public string Input(int i) => i < Node.Input.Count ? Node.Input[i] : "";

    /// <summary>True when optional input <paramref name="i"/> is given.</summary>
    public bool HasInput(int i) => Input(i).Length > 0;

    /// <summary>Name of output <paramref name="i"/>.</summary>
    public string Output(int i) => Node.Output[i];

    /// <summary>Gradient of output <paramref name="i"/>, or null when nothing downstream needs it.</summary>
    public string? OutputGrad(int i) => i < _outputGrads.Length ? _outputGrads[i] : null;

    /// <summary>Gradient of the single (first) output.</summary>
    public string Grad => _outputGrads[0] ?? throw new InvalidOperationException($"node '{Node.Name}' has no gradient on its first output");

    /// <summary>True when input <paramref name="i"/> needs a gradient.</summary>
    public bool Wants(int i) => i < _wants.Length && _wants[i];

    /// <summary>Static facts of a forward value.</summary>
    public TensorFacts Facts(string value) => B.Facts[value];

    /// <summary>Static shape of a forward value (null when the rank is unknown).</summary>
    public IReadOnlyList<Dim>? ShapeOf(string value) => B.Facts[value].Shape;

    /// <summary>Element type of a forward value; throws naming the node when inference could not tell.</summary>
    public int ElemType(string value)
    {
        int t = B.Facts[value].ElemType;
        return t != 0 ? t : throw Fail($"the element type of '{value}' is unknown; declare it in the graph's value_info");
    }

    /// <summary>Element type of the first output, the type gradients of this node have.</summary>
    public int GradType => ElemType(Output(0));

    /// <summary>Rank of a forward value; throws naming the node when unknown.</summary>
    public int RankOf(string value) =>
        B.Facts[value].Rank ?? throw Fail($"the rank of '{value}' is unknown; declare its shape in the graph's value_info");

    /// <summary>The one path input that carries a gradient back to <paramref name="value"/>, or null when there are several or none.</summary>
    public (NodeProto Node, int Input)? SoleGradientReader(string value) =>
        _path.GradientReaders(value).ToList() is [var reader] ? reader : null;

    /// <summary>
    /// The complete gradient of forward value <paramref name="value"/> when an already differentiated node (one after
    /// this one in forward order) received it as its output's gradient, or null. Rules use it to reuse a later node's
    /// gradient (DESIGN.md §4.2).
    /// </summary>
    public string? GradientOf(string value) => _gradientOf(value);

    /// <summary>A scalar constant of the gradient type.</summary>
    public string Scalar(double value) => B.Scalar(value, GradType);

    /// <summary>An INT attribute.</summary>
    public long Int(string name, long fallback) => Attr.GetInt(Node, name, fallback);

    /// <summary>Contents of a constant integer input, or null when it is computed at run time.</summary>
    public long[]? ConstantInts(int i) =>
        HasInput(i) ? B.Constants.Integers(Input(i)) ?? B.Facts[Input(i)].StaticContent() : null;

    /// <summary>A result with no gradient for any input, to fill in.</summary>
    public string?[] NoGradients() => new string?[Node.Input.Count];

    /// <summary>An error naming this node.</summary>
    public DifferentiationException Fail(string reason) =>
        new($"cannot differentiate {Node.OpType} node '{Node.Name}': {reason}.");
}
