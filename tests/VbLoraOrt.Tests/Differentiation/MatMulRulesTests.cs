using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>MatMul and Gemm rules, checked against central differences (float64).</summary>
[TestClass]
public sealed class MatMulRulesTests
{
    [TestMethod]
    public void MatMul_BatchedActivationTimesTrainableWeight_MatchesCentralDifferences()
    {
        var backward = new GradientCheck().Input("x", [2, 3, 4], ["batch", "seq", 4]).Input("w", [4, 5])
            .Node("MatMul", ["x", "w"], ["y"]).Verify();
        Assert.AreEqual(1, backward.Nodes.Count(n => n.OpType == "Gemm"), "the weight gradient is one Gemm over the flattened batch");
        Assert.AreEqual(1, backward.Nodes.Count(n => n.OpType == "MatMul"), "the activation gradient is one MatMul");
    }

    [TestMethod]
    public void MatMul_NarrowTrainableWeight_ContractsWithTheGradientTransposed()
    {
        // A low-rank factor: w [4, 2]. The weight gradient is computed as (gᵀ·x)ᵀ, never transposing x.
        var backward = new GradientCheck().Input("x", [2, 3, 4], ["batch", "seq", 4]).Input("w", [4, 2])
            .Node("MatMul", ["x", "w"], ["y"]).Verify();
        var gemm = backward.Nodes.Single(n => n.OpType == "Gemm");
        Assert.AreNotEqual("x", gemm.Input[0]);
        Assert.HasCount(3, gemm.Input, "a zero C keeps ORT's GemmTransposeFusion from restoring the slow operand order");
        Assert.IsFalse(backward.Nodes.Any(n => n.OpType == "Transpose" && n.Input[0] == "x"));
    }

    [TestMethod]
    public void MatMul_AttentionValues_MatchesCentralDifferences()
    {
        // P [b, h, s, s] · V [b, h, s, 3]: dV = Pᵀ·dC is computed as (dCᵀ·P)ᵀ, the sequence being taken as the longer side.
        var backward = new GradientCheck().Input("p", [2, 2, 4, 4], ["batch", 2, "seq", "seq"]).Input("v", [2, 2, 4, 3], ["batch", 2, "seq", 3])
            .Node("MatMul", ["p", "v"], ["y"]).Verify();
        Assert.IsFalse(backward.Nodes.Any(n => n.OpType == "Transpose" && n.Input[0] == "p"), "P itself is never transposed");
    }

    [TestMethod]
    public void MatMul_WithFrozenWeight_ComputesOnlyTheActivationGradient()
    {
        var backward = new GradientCheck().Input("x", [2, 3, 4], ["batch", "seq", 4])
            .Initializer(Tensors.Double("w", [4, 5], TinyModels.Random(20, 5).Select(v => (double)v).ToArray()))
            .Node("MatMul", ["x", "w"], ["y"]).Verify();
        Assert.AreEqual(1, backward.Nodes.Count(n => n.OpType is "MatMul" or "Gemm"), "a frozen linear layer's backward is one product");
        Assert.IsFalse(backward.DifferentiatedValues.Contains("w"));
    }

    [TestMethod]
    public void MatMul_AttentionScores4D_MatchesCentralDifferences() =>
        new GradientCheck().Input("q", [2, 2, 3, 4], ["batch", 2, "seq", 4]).Input("k", [2, 2, 4, 3], ["batch", 2, 4, "seq"])
            .Node("MatMul", ["q", "k"], ["y"]).Verify();

    [TestMethod]
    public void MatMul_WithBroadcastBatch_SumsBatchGradients() =>
        new GradientCheck().Input("a", [2, 1, 3, 4]).Input("b", [5, 4, 2])
            .Node("MatMul", ["a", "b"], ["y"]).Verify();

    [TestMethod]
    public void MatMul_TwoDimensional_MatchesCentralDifferences() =>
        new GradientCheck().Input("a", [3, 4]).Input("b", [4, 2])
            .Node("MatMul", ["a", "b"], ["y"]).Verify();

    [TestMethod]
    public void MatMul_MatrixTimesVector_MatchesCentralDifferences() =>
        new GradientCheck().Input("a", [2, 3, 4]).Input("v", [4])
            .Node("MatMul", ["a", "v"], ["y"]).Verify();

    [TestMethod]
    public void MatMul_VectorTimesBatchedMatrix_MatchesCentralDifferences() =>
        new GradientCheck().Input("v", [4]).Input("b", [2, 4, 3])
            .Node("MatMul", ["v", "b"], ["y"]).Verify();

    [TestMethod]
    public void MatMul_VectorDotVector_MatchesCentralDifferences() =>
        new GradientCheck().Input("a", [4]).Input("b", [4])
            .Node("MatMul", ["a", "b"], ["y"]).Verify();

    [TestMethod]
    [DataRow(0, 0)]
    [DataRow(0, 1)]
    [DataRow(1, 0)]
    [DataRow(1, 1)]
    public void Gemm_WithTransposesAlphaBetaAndBroadcastBias_MatchesCentralDifferences(int transA, int transB) =>
        new GradientCheck()
            .Input("a", transA == 1 ? [4, 3] : [3, 4]).Input("b", transB == 1 ? [5, 4] : [4, 5]).Input("c", [5])
            .Node("Gemm", ["a", "b", "c"], ["y"], Attr.Int("transA", transA), Attr.Int("transB", transB),
                Attr.Float("alpha", 0.5f), Attr.Float("beta", 2f)).Verify();

    [TestMethod]
    public void Gemm_WithoutBias_MatchesCentralDifferences() =>
        new GradientCheck().Input("a", [3, 4]).Input("b", [5, 4])
            .Node("Gemm", ["a", "b"], ["y"], Attr.Int("transB", 1)).Verify();
}
