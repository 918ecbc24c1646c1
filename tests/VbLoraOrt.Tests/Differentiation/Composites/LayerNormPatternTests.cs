using VbLoraOrt.Differentiation.Composites;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Differentiation.Composites;

/// <summary>The torch LayerNorm core ((x − μ)/√(σ² + ε)): when it rewrites, when it leaves the graph alone, and its gradient.</summary>
[TestClass]
public sealed class LayerNormPatternTests
{
    static PatternGraph TorchLayerNorm(long meanAxis = -1, long varianceAxis = -1) =>
        new PatternGraph().Input("x", 2, 3, 4).Scalar("two", 2).Scalar("eps", 1e-12)
            .Node("ReduceMean", ["x"], "mu", Attr.Ints("axes", meanAxis)).Node("Sub", ["x", "mu"], "d")
            .Node("Pow", ["d", "two"], "sq").Node("ReduceMean", ["sq"], "var", Attr.Ints("axes", varianceAxis))
            .Node("Add", ["var", "eps"], "ve").Node("Sqrt", ["ve"], "sd").Node("Div", ["d", "sd"], "xh");

    [TestMethod]
    public void Match_WhenTorch110LayerNorm_RewritesSevenNodesIntoOne()
    {
        var match = TorchLayerNorm().Match(LayerNormPattern.Match, "xh");

        Assert.IsTrue(match.Succeeded, match.Reason);
        Assert.HasCount(7, match.Covered);
        CollectionAssert.AreEqual(new[] { "x", "sd" }, match.Composite!.Input.ToArray());
        CollectionAssert.AreEqual(new[] { -1L }, Attr.GetInts(match.Composite, "axes"));
    }

    [TestMethod]
    public void Match_WhenMeansReduceDifferentAxes_LeavesAlone()
    {
        var match = TorchLayerNorm(meanAxis: -1, varianceAxis: 1).Match(LayerNormPattern.Match, "xh");

        Assert.IsFalse(match.Succeeded);
        StringAssert.Contains(match.Reason, "same constant axes");
    }

    [TestMethod]
    public void Match_WhenCenteredValueFeedsAnotherNode_LeavesAloneNamingTheValue()
    {
        var match = TorchLayerNorm().Node("Mul", ["d", "two"], "other").Match(LayerNormPattern.Match, "xh");

        Assert.IsFalse(match.Succeeded);
        StringAssert.Contains(match.Reason, "'d'");
    }

    [TestMethod]
    public void Gradient_ThroughCompositeWithScaleAndShift_MatchesCentralDifferences()
    {
        var backward = new GradientCheck().Input("x", [2, 3, 4], ["batch", "seq", 4]).Input("gamma", [4]).Input("beta", [4])
            .Scalar("eps", 1e-5)
            .Node("ReduceMean", ["x"], ["mu"], Attr.Ints("axes", -1)).Node("Sub", ["x", "mu"], ["d"])
            .Node("Mul", ["d", "d"], ["sq"]).Node("ReduceMean", ["sq"], ["var"], Attr.Ints("axes", -1))
            .Node("Add", ["eps", "var"], ["ve"]).Node("Sqrt", ["ve"], ["sd"]).Node("Div", ["d", "sd"], ["xh"])
            .Node("Mul", ["xh", "gamma"], ["xs"]).Node("Add", ["xs", "beta"], ["y"]).Verify();

        Assert.IsFalse(backward.Nodes.Any(n => n.Name.StartsWith("grad/Sqrt_", StringComparison.Ordinal)), "covered nodes get no backward ops of their own");
    }

    [TestMethod]
    public void Gradient_OverTwoAxes_MatchesCentralDifferences() =>
        new GradientCheck().Input("x", [2, 3, 4]).Scalar("two", 2).Scalar("eps", 1e-5)
            .Node("ReduceMean", ["x"], ["mu"], Attr.Ints("axes", 1, 2)).Node("Sub", ["x", "mu"], ["d"])
            .Node("Pow", ["d", "two"], ["sq"]).Node("ReduceMean", ["sq"], ["var"], Attr.Ints("axes", 1, 2))
            .Node("Add", ["var", "eps"], ["ve"]).Node("Sqrt", ["ve"], ["sd"]).Node("Div", ["d", "sd"], ["y"]).Verify();

    [TestMethod]
    public void Gradient_WhenLeftAlone_StillMatchesCentralDifferences() =>
        new GradientCheck().Input("x", [2, 4]).Scalar("two", 2).Scalar("eps", 1e-5)
            .Node("ReduceMean", ["x"], ["mu"], Attr.Ints("axes", -1)).Node("Sub", ["x", "mu"], ["d"])
            .Node("Pow", ["d", "two"], ["sq"]).Node("ReduceMean", ["sq"], ["var"], Attr.Ints("axes", -1))
            .Node("Add", ["var", "eps"], ["ve"]).Node("Sqrt", ["ve"], ["sd"]).Node("Div", ["d", "sd"], ["xh"])
            .Node("Mul", ["xh", "d"], ["y"]).Verify();
}
