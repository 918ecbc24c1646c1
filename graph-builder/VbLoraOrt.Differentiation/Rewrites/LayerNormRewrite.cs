using Onnx;
using VbLoraOrt.Differentiation.Composites;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rewrites;

/// <summary>
/// Rewrites LayerNorm as torch exports it — the core <see cref="LayerNormPattern"/> matches
/// (<c>x̂ = (x − mean x) / √(var x + ε)</c> over the last axis), then <c>y = x̂ · γ + β</c> with constant 1-D γ and β —
/// into one opset-17 <c>LayerNormalization(x, γ, β)</c>, so ONNX Runtime runs its fused kernel (and can fuse the
/// residual Add before it) instead of nine elementwise passes. With statistics the node also outputs <c>Mean</c> and
/// <c>InvStdDev</c>, which its gradient rule reads instead of recomputing them.
/// Leaves a match alone when the core does not match, it normalizes other than the last axis alone, γ or β is not a
/// constant of the normalized size, or an intermediate feeds another node or is a graph output.
/// </summary>
internal static class LayerNormRewrite
{
    /// <summary>A match: the nodes it replaces (in graph order, the final Add last) and the node replacing them.</summary>
    public sealed record Rewrite(IReadOnlyList<NodeProto> Covered, NodeProto Replacement);

    /// <summary>Tries the pattern whose core ends at <paramref name="divide"/>; returns the rewrite or why there is none.</summary>
    public static (Rewrite? Rewrite, string? Reason) Match(NodeProto divide, PatternView view, ShapeFacts facts, GraphConstants constants,
        ISet<string> graphOutputs, UniqueNames names, bool statistics)
    {
        var core = LayerNormPattern.Match(divide, view);
        if (!core.Succeeded)
            return (null, core.Reason);
        string x = core.Composite!.Input[0], normalized = divide.Output[0];
        long[] axes = Attr.GetInts(core.Composite, "axes")!;
        if (facts[x].Shape is not { Count: > 0 } shape || axes is not [var axis] || axis != -1 && axis != shape.Count - 1 || shape[^1].Value is not long size)
            return (null, $"the LayerNorm at '{divide.Name}' does not normalize the last axis alone, of known size");
        if (Affine(view, normalized, "Mul", constants, size) is not { } scaling)
            return (null, $"'{normalized}' is not read by one Mul with a constant γ of {size} elements");
        var (scale, gamma) = scaling;
        if (Affine(view, scale.Output[0], "Add", constants, size) is not { } shifting)
            return (null, $"Mul node '{scale.Name}' is not followed by one Add of a constant β of {size} elements");
        var (shift, beta) = shifting;
        NodeProto[] covered = [.. core.Covered, scale, shift];
        if (covered.SelectMany(n => n.Output).FirstOrDefault(o => o != shift.Output[0] && graphOutputs.Contains(o)) is { } exposed)
            return (null, $"intermediate '{exposed}' is a graph output");
        var epsilonAdd = core.Covered.Single(n => n.OpType == "Add");
        double epsilon = epsilonAdd.Input.Select(view.Scalar).First(v => v != null)!.Value;

        var node = new NodeProto { OpType = "LayerNormalization", Name = names.Fresh($"{divide.Name}/LayerNormalization") };
        node.Input.Add([x, gamma, beta]);
        node.Output.Add(shift.Output[0]);
        if (statistics)
            node.Output.Add([names.Fresh($"{divide.Name}/Mean"), names.Fresh($"{divide.Name}/InvStdDev")]);
        node.Attribute.Add([Attr.Int("axis", -1), Attr.Float("epsilon", (float)epsilon)]);
        return (new Rewrite(covered, node), null);
    }

    // The one path consumer of `value`, when it is `opType` with a constant of `size` elements (1-D) as its other input.
    static (NodeProto Node, string Constant)? Affine(PatternView view, string value, string opType, GraphConstants constants, long size)
    {
        if (view.Consumers(value) is not [var node] || node.OpType != opType || node.Input.Count != 2)
            return null;
        string other = node.Input[0] == value ? node.Input[1] : node.Input[0];
        return constants.Tensor(other) is { Dims: [var n] } && n == size ? (node, other) : null;
    }
}
