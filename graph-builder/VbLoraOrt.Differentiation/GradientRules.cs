using Onnx;
using VbLoraOrt.Differentiation.Composites;
using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Differentiation.Rules;

namespace VbLoraOrt.Differentiation;

/// <summary>
/// The gradient rule table, keyed by op type and, where an op's semantics changed, by the opset the change
/// came with. Rules live in <c>Rules/</c>, one file per op family.
/// </summary>
internal static class GradientRules
{
    static readonly int[] First = [0];

    static readonly GradientRuleEntry[] Table =
    [
        // Elementwise arithmetic (broadcasting).
        new("Add", 1, null, ElementwiseRules.AddSum),
        new("Sub", 1, null, ElementwiseRules.Sub),
        new("Mul", 1, null, ElementwiseRules.Mul),
        new("Div", 1, null, ElementwiseRules.Div),
        new("Pow", 1, null, ElementwiseRules.Pow),
        new("Sum", 1, null, ElementwiseRules.AddSum),
        new("Max", 1, null, ElementwiseRules.MaxMin),
        new("Min", 1, null, ElementwiseRules.MaxMin),
        new("Where", 1, [1, 2], ElementwiseRules.Where),

        // Elementwise unary math.
        new("Identity", 1, First, UnaryRules.Identity),
        new("Neg", 1, First, UnaryRules.Neg),
        new("Sqrt", 1, First, UnaryRules.Sqrt),
        new("Exp", 1, First, UnaryRules.Exp),
        new("Log", 1, First, UnaryRules.Log),
        new("Tanh", 1, First, UnaryRules.Tanh),
        new("Sigmoid", 1, First, UnaryRules.Sigmoid),
        new("Erf", 1, First, UnaryRules.Erf),
        new("Relu", 1, First, UnaryRules.Relu),

        // Products.
        new("MatMul", 1, null, MatMulRules.MatMul),
        new("Gemm", 1, null, MatMulRules.Gemm),

        // Normalizations: before opset 13 Softmax/LogSoftmax normalize over the flattened axes [axis, rank).
        new("Softmax", 1, First, NormalizationRules.SoftmaxFlattened),
        new("Softmax", 13, First, NormalizationRules.Softmax),
        new("LogSoftmax", 1, First, NormalizationRules.LogSoftmaxFlattened),
        new("LogSoftmax", 13, First, NormalizationRules.LogSoftmax),
        new("LayerNormalization", 17, [0, 1, 2], NormalizationRules.LayerNormalization, GradientOutputs: 1),

        // Reductions: axes became an input at opset 13 (ReduceSum) and 18 (ReduceMean).
        new("ReduceSum", 1, First, ReductionRules.ReduceSumAxesAttribute),
        new("ReduceSum", 13, First, ReductionRules.ReduceSumAxesInput),
        new("ReduceMean", 1, First, ReductionRules.ReduceMeanAxesAttribute),
        new("ReduceMean", 18, First, ReductionRules.ReduceMeanAxesInput),

        // Data movement.
        new("Reshape", 1, First, MovementRules.ReshapeLike),
        new("Flatten", 1, First, MovementRules.ReshapeLike),
        new("Squeeze", 1, First, MovementRules.ReshapeLike),
        new("Unsqueeze", 1, First, MovementRules.ReshapeLike),
        new("Transpose", 1, First, MovementRules.Transpose),
        new("Expand", 1, First, MovementRules.Expand),
        new("Cast", 1, First, MovementRules.Cast),
        new("Concat", 1, null, MovementRules.Concat),
        new("Split", 1, First, MovementRules.Split),
        new("Slice", 10, First, MovementRules.Slice),

        // Indexing.
        new("Gather", 1, First, IndexingRules.Gather),
        new("GatherElements", 1, First, IndexingRules.GatherElements),
        new("ScatterElements", 11, [0, 2], IndexingRules.ScatterElements, IndexingRules.ScatterReductionGuard),
        new("ScatterND", 11, [0, 2], IndexingRules.ScatterND, IndexingRules.ScatterReductionGuard),
        new("TopK", 10, First, IndexingRules.TopK, GradientOutputs: 1),
        new("Trilu", 14, First, IndexingRules.Trilu),

        // No gradient flows through these: their outputs are shapes, indices, masks, random draws or constants,
        // or piecewise constant (Floor, Ceil, Round, Sign: zero derivative wherever it exists). Range and OneHot
        // are not listed: with floating inputs from a trainable tensor they have a derivative, so a path through
        // them must fail for want of a rule rather than yield zero. (With integer inputs they are never on a path.)
        .. NonDifferentiable("Shape", "Size", "Constant", "ConstantOfShape", "Equal", "Less", "Greater",
            "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "NonZero", "ArgMax", "ArgMin", "EyeLike",
            "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Floor", "Ceil", "Round", "Sign"),
    ];

    static readonly Dictionary<string, GradientRuleEntry[]> ByOp = Table
        .GroupBy(e => e.OpType, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.OrderByDescending(e => e.SinceOpset).ToArray(), StringComparer.Ordinal);

    // Composite nodes (Composites/) exist only while differentiating; their rows are keyed by op type alone.
    static readonly Dictionary<string, GradientRuleEntry> Composite = CompositeRules.Entries.ToDictionary(e => e.OpType, StringComparer.Ordinal);

    static IEnumerable<GradientRuleEntry> NonDifferentiable(params string[] ops) =>
        ops.Select(op => new GradientRuleEntry(op, 1, [], null));

    /// <summary>The row for <paramref name="opType"/> at <paramref name="opset"/>, or null when the op has no rule.</summary>
    public static GradientRuleEntry? Find(string opType, long opset) =>
        ByOp.TryGetValue(opType, out var rows) ? rows.FirstOrDefault(r => r.SinceOpset <= opset) : null;

    /// <summary>The row for <paramref name="node"/> (default-domain or composite), or null when it has none.</summary>
    public static GradientRuleEntry? For(NodeProto node, long opset) => node.Domain switch
    {
        "" or "ai.onnx" => Find(node.OpType, opset),
        CompositePatterns.Domain => Composite.GetValueOrDefault(node.OpType),
        _ => null,
    };

    /// <summary>Every op type the table knows (with a rule or as non-differentiable).</summary>
    public static IEnumerable<string> OpTypes => ByOp.Keys;
}
