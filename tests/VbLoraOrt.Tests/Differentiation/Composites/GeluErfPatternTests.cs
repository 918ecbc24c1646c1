using VbLoraOrt.Differentiation.Composites;

namespace VbLoraOrt.Tests.Differentiation.Composites;

/// <summary>The exact-GELU pattern (x·(1 + erf(x/c))): when it rewrites, when it leaves the graph alone, and its gradient.</summary>
[TestClass]
public sealed class GeluErfPatternTests
{
    static PatternGraph TorchGelu(string scaleOp = "Div", double factor = 1.4142135381698608, double one = 1) =>
        new PatternGraph().Input("x", 2, 3).Scalar("c", factor).Scalar("one", one)
            .Node(scaleOp, ["x", "c"], "u").Node("Erf", ["u"], "e").Node("Add", ["e", "one"], "a").Node("Mul", ["x", "a"], "z");

    [TestMethod]
    public void Match_WhenTorch110Gelu_RewritesDivErfAddMulIntoOneNode()
    {
        var match = TorchGelu().Match(GeluErfPattern.Match, "z");

        Assert.IsTrue(match.Succeeded, match.Reason);
        CollectionAssert.AreEqual(new[] { "Div", "Erf", "Add", "Mul" }, match.Covered.Select(n => n.OpType).ToArray());
        CollectionAssert.AreEqual(new[] { "x", "u", "a" }, match.Composite!.Input.ToArray());
        Assert.AreEqual("z", match.Composite.Output.Single());
    }

    [TestMethod]
    public void Match_WhenScaledByMulAsTorch2Exports_Rewrites() =>
        Assert.IsTrue(TorchGelu("Mul", 0.7071067690849304).Match(GeluErfPattern.Match, "z").Succeeded);

    [TestMethod]
    public void Match_WhenErfOutputAlsoFeedsAnotherNode_LeavesAloneNamingTheValue()
    {
        var graph = TorchGelu().Node("Mul", ["e", "x"], "other");

        var match = graph.Match(GeluErfPattern.Match, "z");

        Assert.IsFalse(match.Succeeded);
        StringAssert.Contains(match.Reason, "'e'");
    }

    [TestMethod]
    public void Match_WhenAddedConstantIsNotOne_LeavesAlone()
    {
        var match = TorchGelu(one: 2).Match(GeluErfPattern.Match, "z");

        Assert.IsFalse(match.Succeeded);
        StringAssert.Contains(match.Reason, "not the constant 1");
    }

    // Tolerance: GradientCheck.Tolerance.Float (ORT's CPU Erf kernel is float32 only). Inputs reach |u| > 9.4,
    // where e^(u²) overflows to ∞ in the rule and the derivative's limit must still come out.
    [TestMethod]
    public void Gradient_ThroughComposite_MatchesCentralDifferences()
    {
        var backward = new GradientCheck(useDouble: false).Input("x", [2, 4], [-14, -2, -0.7, -0.1, 0, 0.4, 1.5, 14])
            .Scalar("sqrt2", 1.4142135381698608).Scalar("one", 1).Scalar("half", 0.5)
            .Node("Div", ["x", "sqrt2"], ["u"]).Node("Erf", ["u"], ["e"]).Node("Add", ["e", "one"], ["a"])
            .Node("Mul", ["x", "a"], ["z"]).Node("Mul", ["z", "half"], ["y"]).Verify();

        Assert.IsFalse(backward.Nodes.Any(n => n.Name.StartsWith("grad/Erf_", StringComparison.Ordinal)), "covered nodes get no backward ops of their own");
    }

    // The form with c moved into the weights (Rewrites.GeluPrescale): z = u·(1 + erf(u)).
    [TestMethod]
    public void Gradient_ThroughThePrescaledForm_MatchesCentralDifferences()
    {
        var backward = new GradientCheck(useDouble: false).Input("u", [2, 4], [-10, -2, -0.7, -0.1, 0, 0.4, 1.5, 10])
            .Scalar("one", 1).Scalar("c_half", 0.7071067690849304)
            .Node("Erf", ["u"], ["e"]).Node("Add", ["e", "one"], ["a"])
            .Node("Mul", ["u", "a"], ["z"]).Node("Mul", ["z", "c_half"], ["y"]).Verify();

        Assert.IsFalse(backward.Nodes.Any(n => n.Name.StartsWith("grad/Erf", StringComparison.Ordinal)), "differentiated as one GeluErf node");
    }

    [TestMethod]
    public void Gradient_WhenLeftAlone_StillMatchesCentralDifferences() =>
        new GradientCheck(useDouble: false).Input("x", [2, 3], low: -2, high: 2)
            .Scalar("sqrt2", 1.4142135381698608).Scalar("one", 1)
            .Node("Div", ["x", "sqrt2"], ["u"]).Node("Erf", ["u"], ["e"]).Node("Add", ["e", "one"], ["a"])
            .Node("Mul", ["x", "a"], ["z"]).Node("Mul", ["z", "e"], ["y"]).Verify();
}
