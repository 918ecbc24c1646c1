using Microsoft.ML.OnnxRuntime;
using Onnx;
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

    // torch's attention: q, k, v split into heads by Reshape + Transpose (k straight to kᵀ), scores q·kᵀ, context P·v.
    internal static GradientCheck Attention(bool fusionShaped) =>
        new GradientCheck(fusionShaped: fusionShaped).Input("q", [2, 4, 6]).Input("k", [2, 4, 6]).Input("v", [2, 4, 6]).Ints("heads", 2, 4, 2, 3)
            .Node("Reshape", ["q", "heads"], ["q_split"]).Node("Transpose", ["q_split"], ["q_heads"], Attr.Ints("perm", 0, 2, 1, 3))
            .Node("Reshape", ["k", "heads"], ["k_split"]).Node("Transpose", ["k_split"], ["k_t"], Attr.Ints("perm", 0, 2, 3, 1))
            .Node("Reshape", ["v", "heads"], ["v_split"]).Node("Transpose", ["v_split"], ["v_heads"], Attr.Ints("perm", 0, 2, 1, 3))
            .Node("MatMul", ["q_heads", "k_t"], ["scores"]).Node("Softmax", ["scores"], ["p"], Attr.Int("axis", -1))
            .Node("MatMul", ["p", "v_heads"], ["context"]).Node("Transpose", ["context"], ["merged"], Attr.Ints("perm", 0, 2, 1, 3));

    [TestMethod]
    public void MatMul_OfHeadSplitValues_SwapsThemThroughANoOpReshape()
    {
        var backward = Attention(fusionShaped: true).Verify();
        // dS = dC·vᵀ, dq = dS·(kᵀ)ᵀ and dkᵀ = qᵀ·dS each swap a forward Transpose's output: read through Reshape(x, 0s).
        var kept = backward.Nodes.Where(n => n.OpType == "Reshape" && n.Input[0] is "q_heads" or "k_t" or "v_heads").ToList();
        CollectionAssert.AreEquivalent(new[] { "q_heads", "k_t", "v_heads" }, kept.Select(n => n.Input[0]).ToList());
        foreach (var reshape in kept)
        {
            var swap = backward.Nodes.Single(n => n.OpType == "Transpose" && n.Input[0] == reshape.Output[0]);
            CollectionAssert.AreEqual(new long[] { 0, 1, 3, 2 }, swap.Attribute.Single(a => a.Name == "perm").Ints.ToArray());
        }
        // dV = (dCᵀ·P)ᵀ: the context gradient, itself the head merge's transposed gradient, is swapped through one too.
        bool IsSwap(NodeProto n) => n.OpType == "Transpose" && n.Attribute.Single(a => a.Name == "perm").Ints.SequenceEqual(new long[] { 0, 1, 3, 2 });
        var contextSwap = backward.Nodes.Where(n => n.OpType == "Reshape" && backward.Nodes.Any(t => t.OpType == "Transpose" && t.Output[0] == n.Input[0])
                                                    && backward.Nodes.Any(t => IsSwap(t) && t.Input[0] == n.Output[0]));
        Assert.AreEqual(1, contextSwap.Count(), "the context gradient's swap reads it through a Reshape");
        var plain = Attention(fusionShaped: false).Verify();
        Assert.IsFalse(plain.Nodes.Any(n => n.OpType == "Reshape" && n.Input[0] is "q_heads" or "k_t" or "v_heads"),
            "without FusionShaped the swaps read the values directly");
    }

    [TestMethod]
    public void MatMul_OfHeadSplitValues_OrtFoldsTheKeptSwapsIntoTheProducts()
    {
        // The reason for the Reshape: ONNX Runtime merges a transpose of a Transpose's output with it into one transpose
        // it runs on a single thread; read through the Reshape, the swap folds into the product (FusedMatMul transA/B).
        int Materialized(bool fusionShaped)
        {
            var check = Attention(fusionShaped);
            check.Verify();
            string optimized = Path.Combine(Directory.CreateTempSubdirectory("vblora-swap").FullName, "optimized.onnx");
            using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized })
            using (new InferenceSession(check.Training!.ToBytesInline(), options)) { }
            return OnnxModel.Load(optimized).Graph.Node.Count(n => n.OpType == "Transpose");
        }
        int plain = Materialized(fusionShaped: false), kept = Materialized(fusionShaped: true);
        Assert.AreEqual(plain - 4, kept, $"transposes left after ONNX Runtime's optimizations: {plain} plain, {kept} with the swaps kept");
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
