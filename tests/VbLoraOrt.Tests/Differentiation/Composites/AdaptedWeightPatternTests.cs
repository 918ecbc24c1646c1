using VbLoraOrt.Differentiation.Composites;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Differentiation.Composites;

/// <summary>
/// The product with a low-rank-adapted frozen weight, <c>x·(W + P·Q)</c>: when it rewrites, when it leaves the graph
/// alone, and its gradient (against central differences, and that no <c>[in, out]</c> weight gradient is formed).
/// </summary>
[TestClass]
public sealed class AdaptedWeightPatternTests
{
    static PatternGraph Adapted(bool deltaFirst = false, bool frozenIsInput = false)
    {
        var graph = new PatternGraph().Input("x", 2, 3, 4).Input("p", 4, 2).Input("q", 2, 5);
        graph = frozenIsInput ? graph.Input("w", 4, 5) : graph.Matrix("w", 4, 5);
        return graph.Node("MatMul", ["p", "q"], "d").Node("Add", deltaFirst ? ["d", "w"] : ["w", "d"], "adapted")
            .Node("MatMul", ["x", "adapted"], "y");
    }

    [TestMethod]
    public void Match_WhenFrozenWeightPlusFactorProduct_RewritesIntoOneNode()
    {
        var match = Adapted().Match(AdaptedWeightPattern.Match, "y");

        Assert.IsTrue(match.Succeeded, match.Reason);
        CollectionAssert.AreEqual(new[] { "MatMul", "Add", "MatMul" }, match.Covered.Select(n => n.OpType).ToArray());
        CollectionAssert.AreEqual(new[] { "x", "p", "q", "adapted" }, match.Composite!.Input.ToArray());
        Assert.AreEqual("y", match.Composite.Output.Single());
    }

    [TestMethod]
    public void Match_WhenTheProductIsAddedFirst_Rewrites() =>
        Assert.IsTrue(Adapted(deltaFirst: true).Match(AdaptedWeightPattern.Match, "y").Succeeded);

    [TestMethod]
    public void Match_WhenTheWeightIsNotAConstant_LeavesAloneNamingIt()
    {
        var match = Adapted(frozenIsInput: true).Match(AdaptedWeightPattern.Match, "y");

        Assert.IsFalse(match.Succeeded);
        StringAssert.Contains(match.Reason, "'w', which is not a constant weight");
    }

    [TestMethod]
    public void Match_WhenTheAdaptedWeightAlsoFeedsAnotherNode_LeavesAloneNamingTheValue()
    {
        var match = Adapted().Node("MatMul", ["x", "adapted"], "other").Match(AdaptedWeightPattern.Match, "y");

        Assert.IsFalse(match.Succeeded);
        StringAssert.Contains(match.Reason, "'adapted'");
    }

    // x [2, 3, 4] (batched rows), P [4, 2], Q [2, 5], W frozen: every gradient against central differences in float64.
    // The covered Add and factor product get no backward ops, so no [in, out] gradient of W' is formed.
    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void Gradient_ThroughComposite_MatchesCentralDifferences(bool inputNeedsGradient)
    {
        var rng = new Random(5);
        var frozen = Enumerable.Range(0, 20).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var backward = new GradientCheck().Input("x", [2, 3, 4], trainable: inputNeedsGradient).Input("p", [4, 2]).Input("q", [2, 5])
            .Initializer(Tensors.Double("w", [4, 5], frozen))
            .Node("MatMul", ["p", "q"], ["d"]).Node("Add", ["w", "d"], ["adapted"]).Node("MatMul", ["x", "adapted"], ["y"]).Verify();

        Assert.IsFalse(backward.Nodes.Any(n => n.Name.StartsWith("grad/Add_1/", StringComparison.Ordinal) || n.Name.StartsWith("grad/MatMul_0/", StringComparison.Ordinal)),
            "covered nodes get no backward ops of their own");
        Assert.IsTrue(backward.Nodes.Any(n => n.OpType == "MatMul" && n.Input[1] == "p"), "Q's gradient reads x·P, taken through the rank");
    }

    // The adapted product read as attention's keys (split into heads, t moved last): its gradient arrives as a swap of
    // [b, out, t], which the rule reads only through products (dQ as a batched product summed over b).
    [TestMethod]
    public void Gradient_WhenItArrivesAsASwap_MatchesCentralDifferencesWithoutFlatteningIt()
    {
        var rng = new Random(6);
        var frozen = Enumerable.Range(0, 24).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var backward = new GradientCheck().Input("x", [2, 3, 4]).Input("p", [4, 2]).Input("q", [2, 6])
            .Initializer(Tensors.Double("w", [4, 6], frozen)).Ints("heads", 2, 3, 2, 3)
            .Node("MatMul", ["p", "q"], ["d"]).Node("Add", ["w", "d"], ["adapted"]).Node("MatMul", ["x", "adapted"], ["k"])
            .Node("Reshape", ["k", "heads"], ["split"]).Node("Transpose", ["split"], ["y"], Attr.Ints("perm", 0, 2, 3, 1)).Verify();

        var swaps = backward.Nodes.Where(n => n.OpType == "Transpose" && n.Attribute.Single(a => a.Name == "perm").Ints.SequenceEqual(new long[] { 0, 2, 1 }))
            .Select(n => n.Output[0]).ToHashSet();
        Assert.HasCount(1, swaps, "the key gradient arrives as one swap");
        Assert.IsTrue(backward.Nodes.Where(n => n.Input.Any(swaps.Contains)).All(n => n.OpType == "MatMul"), "only products read the swap");
    }

    [TestMethod]
    public void Gradient_WhenLeftAlone_StillMatchesCentralDifferences() =>
        new GradientCheck().Input("x", [3, 4]).Input("p", [4, 2]).Input("q", [2, 5])
            .Initializer(Tensors.Double("w", [4, 5], new double[20]))
            .Node("MatMul", ["p", "q"], ["d"]).Node("Add", ["w", "d"], ["adapted"]).Node("MatMul", ["x", "adapted"], ["y"])
            .Node("Mul", ["adapted", "adapted"], ["other"]).LossOf("y", "other").Verify();
}
