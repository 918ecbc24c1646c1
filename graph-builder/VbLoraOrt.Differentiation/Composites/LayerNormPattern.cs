using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Composites;

/// <summary>
/// Rewrites (for differentiation only) the normalization core of LayerNorm as torch exports it:
/// <c>μ = ReduceMean(x)</c>, <c>d = x − μ</c>, <c>s = d²</c> (Pow 2 or Mul), <c>σ² = ReduceMean(s)</c>,
/// <c>σ = Sqrt(σ² + ε)</c>, <c>x̂ = d / σ</c>, into one <c>LayerNormCore(x, σ) → x̂</c> node over the same axes. Its
/// gradient <c>dx = (ĝ − mean ĝ − x̂·mean(ĝ·x̂)) / σ</c> takes 5 full-size passes and 2 reductions, reading x̂ and
/// the small σ; the op-by-op chain takes about twice that. The scale and shift after x̂ stay ordinary nodes.
/// Leaves the graph alone when the two means reduce different or non-constant axes, drop dims, ε is not a
/// constant, the power is not 2, or an intermediate feeds any other node on the path.
/// </summary>
internal static class LayerNormPattern
{
    public const string OpType = "LayerNormCore";

    /// <summary>Tries the pattern ending at <paramref name="anchor"/> (the Div producing x̂).</summary>
    public static CompositeMatch Match(NodeProto anchor, PatternView view)
    {
        if (anchor.OpType != "Div" || anchor.Input.Count != 2)
            return CompositeMatch.NotFound("the pattern ends in Div(x − mean, std)");
        if (view.Producer(anchor.Input[0], "Sub") is not { } sub)
            return CompositeMatch.NotFound($"the dividend of Div node '{anchor.Name}' is not a Sub");
        string x = sub.Input[0], d = sub.Output[0];
        if (view.Producer(sub.Input[1], "ReduceMean") is not { } mean || mean.Input[0] != x)
            return CompositeMatch.NotFound($"Sub node '{sub.Name}' does not subtract the mean of its first input");
        if (view.Producer(anchor.Input[1], "Sqrt") is not { } sqrt)
            return CompositeMatch.NotFound($"the divisor of Div node '{anchor.Name}' is not a Sqrt");
        if (view.Producer(sqrt.Input[0], "Add") is not { } addEps)
            return CompositeMatch.NotFound($"Sqrt node '{sqrt.Name}' does not take variance + ε");
        int varSide = view.Producer(addEps.Input[0], "ReduceMean") != null ? 0 : 1;
        if (view.Producer(addEps.Input[varSide], "ReduceMean") is not { } variance || view.Scalar(addEps.Input[1 - varSide]) is not double)
            return CompositeMatch.NotFound($"Add node '{addEps.Name}' does not add a constant ε to a ReduceMean");
        if (view.Producer(variance.Input[0], "Pow", "Mul") is not { } square || !Squares(square, d, view))
            return CompositeMatch.NotFound($"ReduceMean node '{variance.Name}' does not average (x − mean)²");
        var (meanAxes, meanKeeps) = view.MeanAxes(mean);
        var (varAxes, varKeeps) = view.MeanAxes(variance);
        if (meanAxes is not { Length: > 0 } || varAxes == null || !meanAxes.SequenceEqual(varAxes) || !meanKeeps || !varKeeps)
            return CompositeMatch.NotFound($"ReduceMean nodes '{mean.Name}' and '{variance.Name}' do not reduce the same constant axes with keepdims");
        NodeProto[] covered = [mean, sub, square, variance, addEps, sqrt, anchor];
        if (view.Enclosed(covered, anchor.Output[0]) is { } reason)
            return CompositeMatch.NotFound(reason);
        var composite = new NodeProto { OpType = OpType, Domain = CompositePatterns.Domain, Name = anchor.Name };
        composite.Input.Add([x, sqrt.Output[0]]);
        composite.Output.Add(anchor.Output[0]);
        composite.Attribute.Add(Attr.Ints("axes", meanAxes));
        return CompositeMatch.Found(composite, covered);
    }

    static bool Squares(NodeProto square, string d, PatternView view) => square.OpType == "Pow"
        ? square.Input[0] == d && (view.Scalar(square.Input[1]) == 2 || view.Integers(square.Input[1]) is [2])
        : square.Input[0] == d && square.Input[1] == d;
}
