using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>Gather/scatter, TopK and Trilu rules against central differences (float64).</summary>
[TestClass]
public sealed class IndexingRulesTests
{
    [TestMethod]
    [DataRow(11L)]
    [DataRow(13L)]
    [DataRow(16L)]
    public void Gather_OfParameterRowsWithRepeatsAndNegatives_AccumulatesRows(long opset) =>
        new GradientCheck(opset).Input("table", [5, 3]).Initializer(Tensors.Int64("ids", [2, 3], [1, 4, 1, -1, 0, 1]))
            .Node("Gather", ["table", "ids"], ["y"]).Verify();

    [TestMethod]
    public void Gather_WithConstantIndicesAsInUniLora_SumsRowsWithoutOneHotProduct()
    {
        // A = θ[idx] ⊙ scale with a fixed projection: θ [7], idx [3, 5], every entry of θ used two or three times.
        long[] projection = [3, 0, 6, 1, 5, 2, 4, 0, 6, 3, 1, 5, 2, 4, 0];
        var backward = new GradientCheck().Input("theta", [7]).Initializer(Tensors.Int64("idx", [3, 5], projection))
            .Input("scale", [3, 5], trainable: false, low: 0.5, high: 1)
            .Node("Gather", ["theta", "idx"], ["entries"]).Node("Mul", ["entries", "scale"], ["y"]).Verify();
        Assert.IsFalse(backward.Nodes.Any(n => n.OpType is "MatMul" or "Equal" or "ScatterND"),
            "constant indices need neither a one-hot matrix nor a scatter");
    }

    [TestMethod]
    public void Gather_WithConstantIndicesOnInnerAxis_SumsRows() =>
        new GradientCheck().Input("x", [2, 4, 3]).Initializer(Tensors.Int64("ids", [2, 2], [3, -1, 0, 3]))
            .Node("Gather", ["x", "ids"], ["y"], Attr.Int("axis", 1)).Verify();

    [TestMethod]
    [DataRow(13L)]
    [DataRow(16L)]
    public void Gather_WithRunTimeIndices_AccumulatesRows(long opset) =>
        new GradientCheck(opset).Input("bank", [4, 2, 3]).IntInput("ids", [5], [3, 0, 3, -4, 2], ["n"])
            .Node("Gather", ["bank", "ids"], ["y"]).Verify();

    [TestMethod]
    public void Gather_ScalarIndexOnAxis1_AsInClsPooling_MatchesCentralDifferences() =>
        new GradientCheck().Input("hidden", [2, 3, 4], ["batch", "seq", 4]).Initializer(Tensors.Int64("zero", [], [0]))
            .Node("Gather", ["hidden", "zero"], ["y"], Attr.Int("axis", 1)).Verify();

    [TestMethod]
    public void Gather_OnLastAxisWithRepeats_MatchesCentralDifferences() =>
        new GradientCheck().Input("x", [2, 4]).Initializer(Tensors.Int64("ids", [3], [3, 1, 3]))
            .Node("Gather", ["x", "ids"], ["y"], Attr.Int("axis", -1)).Verify();

    [TestMethod]
    public void GatherElements_OneLabelPerRow_AsInCrossEntropy_MatchesCentralDifferences() =>
        new GradientCheck().Input("logprobs", [3, 4], ["batch", 4]).IntInput("labels", [3, 1], [2, 0, 3], ["batch", 1])
            .Node("GatherElements", ["logprobs", "labels"], ["y"], Attr.Int("axis", 1)).Verify();

    [TestMethod]
    [DataRow(11L)]
    [DataRow(13L)]
    [DataRow(16L)]
    public void GatherElements_WithRepeatedIndices_AccumulatesGradient(long opset) =>
        new GradientCheck(opset).Input("x", [2, 3]).Initializer(Tensors.Int64("ids", [2, 3], [2, 2, 0, 1, -1, 1]))
            .Node("GatherElements", ["x", "ids"], ["y"], Attr.Int("axis", 1)).Verify();

    [TestMethod]
    [DataRow("none")]
    [DataRow("add")]
    public void ScatterElements_DifferentiatesDataAndUpdates(string reduction) =>
        new GradientCheck(opset: 16).Input("data", [3, 4]).Input("updates", [3, 2]).Initializer(Tensors.Int64("ids", [3, 2], [0, 2, 3, 1, 1, 0]))
            .Node("ScatterElements", ["data", "ids", "updates"], ["y"], Attr.Int("axis", 1), Attr.String("reduction", reduction)).Verify();

    [TestMethod]
    [DataRow("none")]
    [DataRow("add")]
    public void ScatterND_DifferentiatesDataAndUpdates(string reduction) =>
        new GradientCheck(opset: 16).Input("data", [4, 3]).Input("updates", [2, 3]).Initializer(Tensors.Int64("ids", [2, 1], [3, 1]))
            .Node("ScatterND", ["data", "ids", "updates"], ["y"], Attr.String("reduction", reduction)).Verify();

    [TestMethod]
    [DataRow(11L)]
    [DataRow(13L)]
    public void TopK_ScattersValueGradientsToSelectedPositions(long opset) =>
        new GradientCheck(opset).Input("logits", [2, 3, 6]).Ints("k", 2)
            .Node("TopK", ["logits", "k"], ["values", "indices"], Attr.Int("axis", -1)).LossOf("values").Verify();

    [TestMethod]
    public void TopKAdmixture_AsInVbLora_DifferentiatesBankAndLogits()
    {
        // sub = Σ_k softmax(topk(logits))_k · bank[topk indices_k]: logits [r=2, m=3, h=5], bank [h=5, b=4].
        var backward = new GradientCheck().Input("logits", [2, 3, 5]).Input("bank", [5, 4]).Ints("k", 2).Ints("last", -1)
            .Node("TopK", ["logits", "k"], ["v", "i"], Attr.Int("axis", -1))
            .Node("Softmax", ["v"], ["w"], Attr.Int("axis", -1))
            .Node("Gather", ["bank", "i"], ["vectors"])                // [2, 3, k, 4]
            .Node("Unsqueeze", ["w", "last"], ["w4"])                  // [2, 3, k, 1]
            .Node("Mul", ["w4", "vectors"], ["weighted"])
            .Node("ReduceSum", ["weighted", "last"], ["y"], Attr.Int("keepdims", 0)).Verify();
        Assert.IsFalse(backward.DifferentiatedValues.Contains("i"), "TopK indices carry no gradient");
    }

    [TestMethod]
    [DataRow(1, 0)]
    [DataRow(0, -1)]
    public void Trilu_KeepsTheSameTriangleOfTheGradient(int upper, int k) =>
        new GradientCheck(opset: 14).Input("x", [2, 4, 4]).Initializer(Tensors.Int64("k", [], [k]))
            .Node("Trilu", ["x", "k"], ["y"], Attr.Int("upper", upper)).Verify();
}
