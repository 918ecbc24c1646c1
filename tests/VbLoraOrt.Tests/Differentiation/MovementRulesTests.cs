using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>Reshape, Transpose, Squeeze/Unsqueeze, Expand, Cast, Concat, Split and Slice rules against central differences.</summary>
[TestClass]
public sealed class MovementRulesTests
{
    [TestMethod]
    public void Reshape_ToShapeComputedFromShapeOps_AsInTorchExports_MatchesCentralDifferences()
    {
        // [batch, seq, 4] → Reshape(Concat(batch, seq, 2, 2)) → Transpose(0, 2, 1, 3): the attention head split.
        var backward = new GradientCheck().Input("x", [2, 3, 4], ["batch", "seq", 4])
            .Ints("i0", 0).Ints("i1", 1).Ints("heads", 2, 2)
            .Node("Shape", ["x"], ["s"]).Node("Gather", ["s", "i0"], ["b"]).Node("Gather", ["s", "i1"], ["n"])
            .Node("Concat", ["b", "n", "heads"], ["target"], Attr.Int("axis", 0))
            .Node("Reshape", ["x", "target"], ["r"])
            .Node("Transpose", ["r"], ["y"], Attr.Ints("perm", 0, 2, 1, 3)).Verify();
        Assert.IsFalse(backward.DifferentiatedValues.Contains("target"), "shape arithmetic carries no gradient");
    }

    [TestMethod]
    public void Reshape_ToItsOwnShape_PassesTheGradientOnAsItIs()
    {
        // An all-zero shape as long as the rank copies every dimension: no Reshape (nor anything else) in the backward for it.
        var backward = new GradientCheck().Input("x", [2, 3, 4], ["batch", "seq", 4]).Ints("same", 0, 0, 0)
            .Node("Reshape", ["x", "same"], ["r"]).Node("Mul", ["r", "r"], ["y"]).Verify();
        Assert.IsFalse(backward.Nodes.Any(n => n.OpType == "Reshape"));
    }

    [TestMethod]
    public void Reshape_WithFewerZerosThanTheRank_ReshapesTheGradientBack()
    {
        // [2, 3, 1] with shape [0, 0] is [2, 3]: not the same shape, so the gradient is reshaped back to the input's.
        var backward = new GradientCheck().Input("x", [2, 3, 1]).Ints("fewer", 0, 0)
            .Node("Reshape", ["x", "fewer"], ["r"]).Node("Mul", ["r", "r"], ["y"]).Verify();
        Assert.IsTrue(backward.Nodes.Any(n => n.OpType == "Reshape"));
    }

    [TestMethod]
    public void Reshape_WithInferredDim_MatchesCentralDifferences() =>
        new GradientCheck().Input("x", [2, 3, 4]).Ints("shape", -1, 4)
            .Node("Reshape", ["x", "shape"], ["y"]).Verify();

    [TestMethod]
    public void Flatten_MatchesCentralDifferences() =>
        new GradientCheck().Input("x", [2, 3, 2, 2], ["batch", 3, 2, 2])
            .Node("Flatten", ["x"], ["y"], Attr.Int("axis", 2)).Verify();

    [TestMethod]
    public void Transpose_WithDefaultPermutation_MatchesCentralDifferences() =>
        new GradientCheck().Input("x", [2, 3, 4])
            .Node("Transpose", ["x"], ["y"]).Verify();

    [TestMethod]
    public void Transpose_OfTransposes_BackwardIsOneComposedTranspose()
    {
        var backward = new GradientCheck().Input("x", [2, 3, 4])
            .Node("Transpose", ["x"], ["t"], Attr.Ints("perm", 1, 0, 2))
            .Node("Transpose", ["t"], ["y"], Attr.Ints("perm", 0, 2, 1)).Verify();
        Assert.AreEqual(1, backward.Nodes.Count(n => n.OpType == "Transpose"), "the two gradient transposes compose into one");
    }

    // Attention's kᵀ: [b, t, h·d] → [b, t, h, d] → (0, 2, 3, 1) → [b, h, d, t]. The backward merges [b, h, d, t] to
    // [b, h·d, t] and swaps the last two axes, instead of moving t back with (0, 3, 1, 2) and then merging.
    [TestMethod]
    public void Reshape_OfAKeyGradientMovedBack_MergesFirstAndSwapsTheLastTwoAxes()
    {
        var backward = new GradientCheck().Input("k", [2, 3, 6]).Ints("heads", 2, 3, 2, 3)
            .Node("Reshape", ["k", "heads"], ["split"]).Node("Transpose", ["split"], ["y"], Attr.Ints("perm", 0, 2, 3, 1)).Verify();
        var perms = backward.Nodes.Where(n => n.OpType == "Transpose").Select(n => string.Join(",", n.Attribute.Single(a => a.Name == "perm").Ints)).ToList();
        CollectionAssert.AreEqual(new[] { "0,2,1" }, perms);
    }

    [TestMethod]
    public void Transpose_OfANarrowWeightGradient_CancelsAndLeavesNoTranspose()
    {
        // y = a · wᵀ with w [2, 4]: the weight-side gradient is (gᵀ·a)ᵀ, and Transpose's rule transposes it back.
        var backward = new GradientCheck().Input("a", [3, 4], trainable: false).Input("w", [2, 4])
            .Node("Transpose", ["w"], ["wt"]).Node("MatMul", ["a", "wt"], ["y"]).Verify();
        Assert.IsFalse(backward.Nodes.Any(n => n.OpType == "Transpose"), "the transposes cancel and the unread one is dropped");
    }

    [TestMethod]
    public void SqueezeUnsqueeze_BeforeOpset13AxesAttribute_MatchesCentralDifferences() =>
        new GradientCheck(opset: 11).Input("x", [2, 1, 3])
            .Node("Squeeze", ["x"], ["s"], Attr.Ints("axes", 1))
            .Node("Unsqueeze", ["s"], ["y"], Attr.Ints("axes", 0, -1)).Verify();

    [TestMethod]
    public void SqueezeUnsqueeze_AtOpset13AxesInput_MatchesCentralDifferences() =>
        new GradientCheck().Input("x", [2, 1, 3], ["batch", 1, 3]).Ints("one", 1).Ints("ends", 0, -1)
            .Node("Squeeze", ["x", "one"], ["s"])
            .Node("Unsqueeze", ["s", "ends"], ["y"]).Verify();

    [TestMethod]
    public void Expand_SumsBroadcastGradient() =>
        new GradientCheck().Input("x", [3, 1]).Ints("shape", 2, 3, 4)
            .Node("Expand", ["x", "shape"], ["y"]).Verify();

    // Tolerance: GradientCheck.Tolerance.Float (the chain runs through float32).
    [TestMethod]
    public void Cast_BetweenFloatTypes_CastsGradientBack() =>
        new GradientCheck(useDouble: false).Input("x", [2, 3])
            .Node("Cast", ["x"], ["d"], Attr.Int("to", (int)TensorProto.Types.DataType.Double))
            .Node("Tanh", ["d"], ["t"])
            .Node("Cast", ["t"], ["y"], Attr.Int("to", (int)TensorProto.Types.DataType.Float)).Verify();

    [TestMethod]
    public void Cast_ToInteger_CarriesNoGradient()
    {
        var backward = new GradientCheck().Input("x", [4], [0.3, 1.6, -0.7, 2.2])
            .Node("Cast", ["x"], ["i"], Attr.Int("to", (int)TensorProto.Types.DataType.Int64))
            .Node("Cast", ["i"], ["f"], Attr.Int("to", (int)TensorProto.Types.DataType.Double))
            .Node("Mul", ["x", "f"], ["y"]).Verify();
        Assert.IsFalse(backward.DifferentiatedValues.Contains("i"), "integer tensors never get gradients");
    }

    [TestMethod]
    public void Concat_OfStaticAndSymbolicParts_SlicesEachTrainablePart()
    {
        var backward = new GradientCheck()
            .Input("a", [2, 3], ["batch", "seq"]).Input("b", [2, 2], ["batch", 2]).Input("frozen", [2, 1], trainable: false).Input("c", [2, 2], ["batch", "n"])
            .Node("Concat", ["a", "b", "frozen", "c"], ["y"], Attr.Int("axis", -1)).Verify();
        var shapes = backward.Nodes.Where(n => n.OpType == "Shape").SelectMany(n => n.Output).ToHashSet();
        Assert.AreEqual(3, backward.Nodes.Count(n => n.OpType == "Slice" && !shapes.Contains(n.Input[0])), "one gradient slice per trainable part");
    }

    [TestMethod]
    public void Split_AtOpset13WithSizesInput_FillsUnusedOutputWithZeros() =>
        new GradientCheck().Input("x", [2, 5]).Ints("sizes", 2, 3)
            .Node("Split", ["x", "sizes"], ["a", "b"], Attr.Int("axis", 1)).LossOf("b").Verify();

    [TestMethod]
    public void Split_BeforeOpset13WithSizesAttribute_MatchesCentralDifferences() =>
        new GradientCheck(opset: 11).Input("x", [4, 3])
            .Node("Split", ["x"], ["a", "b"], Attr.Int("axis", 0), Attr.Ints("split", 1, 3)).LossOf("a", "b").Verify();

    [TestMethod]
    public void Split_AtOpset18WithNumOutputs_MatchesCentralDifferences() =>
        new GradientCheck(opset: 18).Input("x", [2, 6], ["batch", 6])
            .Node("Split", ["x"], ["a", "b", "c"], Attr.Int("axis", -1), Attr.Int("num_outputs", 3)).LossOf("a", "c").Verify();

    [TestMethod]
    public void Slice_WithConstantBoundsAndKnownSizes_IsAPad()
    {
        var backward = new GradientCheck().Input("x", [2, 5, 4], ["batch", 5, 4])
            .Ints("starts", 1, -3).Ints("ends", long.MaxValue, -1).Ints("axes", 1, 2)
            .Node("Slice", ["x", "starts", "ends", "axes"], ["y"]).Verify();
        Assert.IsTrue(backward.Nodes.Any(n => n.OpType == "Pad"));
    }

    [TestMethod]
    [DataRow(2L)]
    [DataRow(-1L)]
    public void Slice_WithSteps_ScattersIntoZeros(long step) =>
        new GradientCheck().Input("x", [3, 6])
            .Ints("starts", step > 0 ? 1 : -2).Ints("ends", step > 0 ? 6 : 0).Ints("axes", 1).Ints("steps", step)
            .Node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"]).Verify();

    [TestMethod]
    public void Slice_WithRunTimeBoundsOnSymbolicAxis_ScattersIntoZeros() =>
        new GradientCheck().Input("x", [2, 5], ["batch", "seq"]).IntInput("starts", [1], [1]).IntInput("ends", [1], [4]).Ints("axes", -1)
            .Node("Slice", ["x", "starts", "ends", "axes"], ["y"]).Verify();

    [TestMethod]
    public void SliceAndConcat_AtOpset11_MatchesCentralDifferences() =>
        new GradientCheck(opset: 11).Input("x", [2, 5], ["batch", "seq"]).Input("y", [2, 2], ["batch", 2])
            .IntInput("starts", [1], [1]).IntInput("ends", [1], [-1]).Ints("axes", 1)
            .Node("Slice", ["x", "starts", "ends", "axes"], ["s"])
            .Node("Concat", ["s", "y"], ["z"], Attr.Int("axis", 1)).Verify();
}
