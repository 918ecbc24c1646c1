using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>Softmax, LogSoftmax and LayerNormalization in standard ops, checked against central differences.</summary>
[TestClass]
public sealed class NormalizationRulesTests
{
    [TestMethod]
    [DataRow("Softmax", -1)]
    [DataRow("Softmax", 1)]
    [DataRow("LogSoftmax", -1)]
    [DataRow("LogSoftmax", 0)]
    public void SoftmaxFamily_AtOpset13_NormalizesOneAxis(string op, int axis) =>
        new GradientCheck().Input("x", [2, 3, 4], ["batch", 3, 4])
            .Node(op, ["x"], ["y"], Attr.Int("axis", axis)).Verify();

    [TestMethod]
    [DataRow("Softmax", 1)]
    [DataRow("Softmax", 2)]
    [DataRow("LogSoftmax", 1)]
    [DataRow("LogSoftmax", -1)]
    public void SoftmaxFamily_BeforeOpset13_NormalizesTrailingAxesTogether(string op, int axis) =>
        new GradientCheck(opset: 11).Input("x", [2, 3, 4], ["batch", 3, 4])
            .Node(op, ["x"], ["y"], Attr.Int("axis", axis)).Verify();

    [TestMethod]
    public void Softmax_OfMaskedAttentionScores_MatchesCentralDifferences() =>
        new GradientCheck().Input("scores", [2, 2, 3, 3], ["batch", 2, "seq", "seq"]).Input("mask", [2, 1, 1, 3], ["batch", 1, 1, "seq"])
            .Node("Add", ["scores", "mask"], ["masked"]).Node("Softmax", ["masked"], ["y"], Attr.Int("axis", -1)).Verify();

    [TestMethod]
    [DataRow(13L)]
    [DataRow(11L)]
    public void Softmax_ReadOnlyByAProduct_TakesItsRowSumsFromTheProduct(long opset)
    {
        // P = softmax(s) [b, h, q, k] · V [b, h, k, 2]: Σ dP·P per row is Σ dC·C over the product's last axis.
        var backward = new GradientCheck(opset).Input("s", [2, 2, 3, 4], ["batch", 2, "seq", 4]).Input("v", [2, 2, 4, 2], ["batch", 2, 4, 2])
            .Node("Softmax", ["s"], ["p"], Attr.Int("axis", opset < 13 ? 3 : -1)).Node("MatMul", ["p", "v"], ["y"]).Verify();
        Assert.Contains("y", RowSumFactors(backward).Input, "the row sums read the product's output, not the probabilities");
    }

    [TestMethod]
    public void Softmax_ReadByAProductAndElsewhere_SumsItsOwnRows()
    {
        // P also reaches the loss directly, so its gradient is not dC·Vᵀ alone: the row sums must come from P.
        var backward = new GradientCheck().Input("s", [2, 3, 4]).Input("v", [2, 4, 2])
            .Node("Softmax", ["s"], ["p"], Attr.Int("axis", -1)).Node("MatMul", ["p", "v"], ["y"]).LossOf("y", "p").Verify();
        Assert.Contains("p", RowSumFactors(backward).Input);
    }

    // The Mul whose output softmax's backward sums per row (the loss's own reductions sum constants).
    static global::Onnx.NodeProto RowSumFactors(VbLoraOrt.Differentiation.GradientGraph backward) =>
        backward.Nodes.Where(n => n.OpType == "ReduceSum")
            .Select(r => backward.Nodes.SingleOrDefault(n => n.Output.Contains(r.Input[0])))
            .Single(n => n?.OpType == "Mul")!;

    [TestMethod]
    public void LayerNormalization_LastAxis_DifferentiatesInputScaleAndBias() =>
        new GradientCheck(opset: 17).Input("x", [2, 3, 4], ["batch", "seq", 4]).Input("scale", [4]).Input("bias", [4])
            .Node("LayerNormalization", ["x", "scale", "bias"], ["y"], Attr.Int("axis", -1), Attr.Float("epsilon", 1e-5f)).Verify();

    [TestMethod]
    public void LayerNormalization_OverTwoAxesWithoutBias_MatchesCentralDifferences() =>
        new GradientCheck(opset: 17).Input("x", [2, 3, 4]).Input("scale", [3, 4])
            .Node("LayerNormalization", ["x", "scale"], ["y"], Attr.Int("axis", 1)).Verify();

    [TestMethod]
    public void LayerNormalization_WithStatisticsOutputs_ReadsThemAndMatchesCentralDifferences()
    {
        // float32: the saved Mean and InvStdDev are float (stash_type 1), so only a float graph reads them.
        var backward = new GradientCheck(opset: 17, useDouble: false).Input("x", [2, 3, 4], ["batch", "seq", 4]).Input("scale", [4]).Input("bias", [4])
            .Node("LayerNormalization", ["x", "scale", "bias"], ["y", "mean", "inv_std"], Attr.Int("axis", -1), Attr.Float("epsilon", 1e-5f))
            .LossOf("y").Verify();

        Assert.IsTrue(backward.Nodes.Any(n => n.Input.Contains("inv_std")), "the backward reads the saved InvStdDev");
        Assert.IsFalse(backward.Nodes.Any(n => n.OpType is "Sqrt" or "ReduceMean" && n.Input.Contains("x")), "statistics are not recomputed");
    }

    [TestMethod]
    public void LayerNormAsExportedByTorch_MatchesCentralDifferences() =>
        // ReduceMean / Sub / Pow / ReduceMean / Add / Sqrt / Div / Mul / Add, as in the MiniLM export.
        new GradientCheck().Input("x", [2, 3, 4], ["batch", "seq", 4]).Input("gamma", [4]).Input("beta", [4])
            .Scalar("two", 2).Scalar("eps", 1e-12)
            .Node("ReduceMean", ["x"], ["mu"], Attr.Ints("axes", -1))
            .Node("Sub", ["x", "mu"], ["xc"])
            .Node("Pow", ["xc", "two"], ["sq"])
            .Node("ReduceMean", ["sq"], ["var"], Attr.Ints("axes", -1))
            .Node("Add", ["var", "eps"], ["ve"])
            .Node("Sqrt", ["ve"], ["sd"])
            .Node("Div", ["xc", "sd"], ["xh"])
            .Node("Mul", ["xh", "gamma"], ["xs"])
            .Node("Add", ["xs", "beta"], ["y"]).Verify();

    [TestMethod]
    public void LayerNormalization_WhenSavedMeanLeadsToLoss_ThrowsInsteadOfDroppingIt()
    {
        var check = new GradientCheck(opset: 17, useDouble: false).Input("x", [2, 4]).Input("scale", [4])
            .Node("LayerNormalization", ["x", "scale"], ["y", "mean"], Attr.Int("axis", -1)).LossOf("y", "mean");

        var error = Assert.ThrowsExactly<VbLoraOrt.Differentiation.Core.DifferentiationException>(() => check.Verify());

        StringAssert.Contains(error.Message, "output 1 ('mean')");
    }
}
