using Onnx;
using VbLoraOrt.Bench;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Benchmarks;

[TestClass]
public sealed class MatMulFlopsTests
{
    [TestMethod]
    public void Count_WhenMlpAtConcreteBatch_IsTwiceMacsOfEachProduct()
    {
        var model = TinyModels.TwoLayerMlp(inDim: 4, hidden: 8, outDim: 3);

        var count = MatMulFlops.Count(model, new Dictionary<string, long> { ["batch"] = 5 });

        // x[5,4]·W1[4,8]: 5·4·8 MACs; h[5,8]·W2[8,3]: 5·8·3 MACs; 2 FLOP per MAC.
        Assert.AreEqual(2.0 * (5 * 4 * 8 + 5 * 8 * 3), count.Flops);
        Assert.AreEqual(2, count.Products);
        Assert.AreEqual(0, count.Unresolved.Count);
    }

    [TestMethod]
    public void Count_WhenBatchedMatMulBroadcastsAndGemmTransposes_CountsBothShapes()
    {
        var m = TinyModels.NewModel();
        m.Graph.Input.Add(TinyModels.FloatValue("q", "batch", 2, "sequence", 4));   // [b, heads, s, d]
        m.Graph.Input.Add(TinyModels.FloatValue("k", 1, 2, 4, "sequence"));         // broadcast over b
        m.Graph.Input.Add(TinyModels.FloatValue("x", 6, 4));
        m.Graph.Initializer.Add(Tensors.Float("w", [5, 4], new float[20]));         // Gemm transB: [N, K]
        m.Graph.Node.Add(TinyModels.Node("MatMul", ["q", "k"], ["scores"]));
        m.Graph.Node.Add(TinyModels.Node("Gemm", ["x", "w"], ["y"], attrs: new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 }));
        m.Graph.Output.Add(TinyModels.FloatValue("scores", "batch", 2, "sequence", "sequence"));
        m.Graph.Output.Add(TinyModels.FloatValue("y", 6, 5));

        var count = MatMulFlops.Count(OnnxModel.FromProto(m), new Dictionary<string, long> { ["batch"] = 3, ["sequence"] = 7 });

        double attention = 2.0 * (3 * 2) * 7 * 4 * 7;   // batch·heads products of [7,4]·[4,7]
        double gemm = 2.0 * 6 * 4 * 5;
        Assert.AreEqual(attention + gemm, count.Flops);
    }

    [TestMethod]
    public void Count_WhenSymbolicDimNotGiven_ThrowsNamingInputAndDim()
    {
        var model = TinyModels.TwoLayerMlp();

        var e = Assert.ThrowsExactly<ArgumentException>(() => MatMulFlops.Count(model, new Dictionary<string, long> { ["sequence"] = 4 }));

        StringAssert.Contains(e.Message, "'x'");
        StringAssert.Contains(e.Message, "'batch'");
    }
}
