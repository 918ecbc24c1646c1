using Onnx;

namespace VbLoraOrt.Differentiation.Composites;

/// <summary>
/// Rewrites (for differentiation only) a product with a low-rank-adapted frozen weight,
/// <c>D = P·Q</c>, <c>W' = W + D</c>, <c>y = x·W'</c> (P <c>[in, r]</c>, Q <c>[r, out]</c>, W a constant), into one
/// <c>AdaptedWeightMatMul(x, P, Q, W') → y</c> node. Op by op, <c>dW' = xᵀ·g</c> would be a full <c>[in, out]</c>
/// product over every token, as large as the forward's; the composite's rule takes the factors' gradients through
/// the rank instead (<c>dP = xᵀ·(g·Qᵀ)</c>, <c>dQ = (x·P)ᵀ·g</c>) and <c>dx = g·W'ᵀ</c> in one product, the
/// adapter's share of it included (DESIGN.md §4.2). Leaves the graph alone when W is not a constant, the product's
/// operands are not matrices, or D or W' feed any other node on the path.
/// </summary>
internal static class AdaptedWeightPattern
{
    public const string OpType = "AdaptedWeightMatMul";

    /// <summary>Tries the pattern ending at <paramref name="anchor"/> (the MatMul producing y).</summary>
    public static CompositeMatch Match(NodeProto anchor, PatternView view)
    {
        if (anchor.OpType != "MatMul" || anchor.Input.Count != 2)
            return CompositeMatch.NotFound("the pattern ends in MatMul(x, W + P·Q)");
        if (view.Producer(anchor.Input[1], "Add") is not { } add)
            return CompositeMatch.NotFound($"the weight of MatMul node '{anchor.Name}' is not an Add");
        int deltaSide = view.Producer(add.Input[1], "MatMul") != null ? 1 : view.Producer(add.Input[0], "MatMul") != null ? 0 : -1;
        if (deltaSide < 0)
            return CompositeMatch.NotFound($"Add node '{add.Name}' does not add a MatMul output");
        string frozen = add.Input[1 - deltaSide];
        if (!view.IsConstant(frozen))
            return CompositeMatch.NotFound($"Add node '{add.Name}' adds '{frozen}', which is not a constant weight");
        var delta = view.Producer(add.Input[deltaSide], "MatMul")!;
        if (view.Rank(frozen) != 2 || view.Rank(delta.Input[0]) != 2 || view.Rank(delta.Input[1]) != 2 || view.Rank(anchor.Input[0]) is not >= 2)
            return CompositeMatch.NotFound($"MatMul node '{delta.Name}' or '{anchor.Name}' does not multiply matrices by a matrix weight");
        NodeProto[] covered = [delta, add, anchor];
        if (view.Enclosed(covered, anchor.Output[0]) is { } reason)
            return CompositeMatch.NotFound(reason);
        var composite = new NodeProto { OpType = OpType, Domain = CompositePatterns.Domain, Name = anchor.Name };
        composite.Input.Add([anchor.Input[0], delta.Input[0], delta.Input[1], anchor.Input[1]]);
        composite.Output.Add(anchor.Output[0]);
        return CompositeMatch.Found(composite, covered);
    }
}
