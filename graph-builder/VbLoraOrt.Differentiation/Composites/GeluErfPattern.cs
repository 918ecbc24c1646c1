using Onnx;

namespace VbLoraOrt.Differentiation.Composites;

/// <summary>
/// Rewrites (for differentiation only) the exact GELU as torch exports it, without its final ·½:
/// <c>u = x / c</c> (or <c>x · k</c>), <c>e = Erf(u)</c>, <c>a = e + 1</c>, <c>z = x · a</c>, into one
/// <c>GeluErf(x, u, a) → z</c> node; also <c>z = u · (1 + erf(u))</c>, the form with c moved into the weights
/// (<see cref="Rewrites.GeluPrescale"/>), as <c>GeluErf(u, u, a)</c>. Its gradient <c>dz/dx = a + (2/√π)·u·e^(−u²)</c> takes 6 elementwise passes
/// reading u and a from the forward pass, where the op-by-op chain takes 9 (Erf's, Div's and Mul's rules and
/// the sum of x's two contributions). Leaves the graph alone when c or the 1 are not constants, or when u, e
/// or a feed any other node on the path.
/// </summary>
internal static class GeluErfPattern
{
    public const string OpType = "GeluErf";

    /// <summary>Tries the pattern ending at <paramref name="anchor"/> (the Mul producing z).</summary>
    public static CompositeMatch Match(NodeProto anchor, PatternView view)
    {
        if (anchor.OpType != "Mul" || anchor.Input.Count != 2)
            return CompositeMatch.NotFound("the pattern ends in Mul(x, 1 + erf(x/c))");
        for (int side = 0; side < 2; side++)
        {
            string x = anchor.Input[side], a = anchor.Input[1 - side];
            if (view.Producer(a, "Add") is not { } add)
                continue;
            int erfSide = view.Producer(add.Input[0], "Erf") != null ? 0 : view.Producer(add.Input[1], "Erf") != null ? 1 : -1;
            if (erfSide < 0)
                return CompositeMatch.NotFound($"Add node '{add.Name}' does not add an Erf output");
            if (view.Scalar(add.Input[1 - erfSide]) != 1)
                return CompositeMatch.NotFound($"Add node '{add.Name}' adds '{add.Input[1 - erfSide]}', not the constant 1");
            var erf = view.Producer(add.Input[erfSide], "Erf")!;
            string u = erf.Input[0];
            if (u == x) // the prescaled form (Rewrites.GeluPrescale): z = u·(1 + erf(u)), c = 1
                return Collapse(anchor, view, [erf, add, anchor], x, u, a);
            if (view.Producer(u, "Div", "Mul") is not { } scale || scale.Input[0] != x && scale.Input[1] != x)
                return CompositeMatch.NotFound($"the input of Erf node '{erf.Name}' is not x scaled by a constant");
            string factor = scale.Input[0] == x ? scale.Input[1] : scale.Input[0];
            if (view.Scalar(factor) is not double f || f == 0 || scale.OpType == "Div" && scale.Input[1] != factor)
                return CompositeMatch.NotFound($"{scale.OpType} node '{scale.Name}' does not scale x by a nonzero constant");
            return Collapse(anchor, view, [scale, erf, add, anchor], x, u, a);
        }
        return CompositeMatch.NotFound($"neither input of Mul node '{anchor.Name}' is 1 + erf(x/c)");
    }

    // The covered nodes as one GeluErf(x, u, a) → z, when none of their intermediates leaves them.
    static CompositeMatch Collapse(NodeProto anchor, PatternView view, NodeProto[] covered, string x, string u, string a)
    {
        if (view.Enclosed(covered, anchor.Output[0]) is { } reason)
            return CompositeMatch.NotFound(reason);
        var composite = new NodeProto { OpType = OpType, Domain = CompositePatterns.Domain, Name = anchor.Name };
        composite.Input.Add([x, u, a]);
        composite.Output.Add(anchor.Output[0]);
        return CompositeMatch.Found(composite, covered);
    }
}
