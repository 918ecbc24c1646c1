using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Differentiation.Rewrites;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation.Rewrites;

/// <summary>
/// Attention's key transpose <c>(0, 2, 3, 1)</c> split into the head split, a Reshape to the same shape and a swap: when,
/// that it computes the same values and gradients, and what ONNX Runtime then materializes.
/// </summary>
[TestClass]
public sealed class KeySwapRewriteTests
{
    // torch's attention on q, k, v [batch, 4, 6] (2 heads of 3): kᵀ straight from the split keys, scores q·kᵀ, P·v.
    static OnnxModel TorchAttention(Action<GraphProto>? tweak = null)
    {
        var m = TinyModels.NewModel(13);
        var g = m.Graph;
        foreach (var name in new[] { "q", "k", "v" })
            g.Input.Add(TinyModels.FloatValue(name, "batch", 4, 6));
        g.Output.Add(TinyModels.FloatValue("context", "batch", 2, 4, 3));
        g.Initializer.Add(Tensors.Int64Vector("heads", 0, 4, 2, 3));
        void Node(string op, string[] inputs, string output, params AttributeProto[] attrs) =>
            g.Node.Add(TinyModels.Node(op, inputs, [output], $"{op}_{g.Node.Count}", attrs));
        Node("Reshape", ["q", "heads"], "q_split");
        Node("Transpose", ["q_split"], "q_heads", Attr.Ints("perm", 0, 2, 1, 3));
        Node("Reshape", ["k", "heads"], "k_split");
        Node("Transpose", ["k_split"], "k_t", Attr.Ints("perm", 0, 2, 3, 1));
        Node("Reshape", ["v", "heads"], "v_split");
        Node("Transpose", ["v_split"], "v_heads", Attr.Ints("perm", 0, 2, 1, 3));
        Node("MatMul", ["q_heads", "k_t"], "scores");
        Node("Softmax", ["scores"], "p", Attr.Int("axis", -1));
        Node("MatMul", ["p", "v_heads"], "context");
        tweak?.Invoke(g);
        return OnnxModel.FromProto(m);
    }

    static Dictionary<string, object> Inputs() => new()
    {
        ["q"] = new DenseTensor<float>(TinyModels.Random(2 * 4 * 6, 1, 2f), [2, 4, 6]),
        ["k"] = new DenseTensor<float>(TinyModels.Random(2 * 4 * 6, 2, 2f), [2, 4, 6]),
        ["v"] = new DenseTensor<float>(TinyModels.Random(2 * 4 * 6, 3, 2f), [2, 4, 6]),
    };

    static long[] Perm(NodeProto n) => n.Attribute.Single(a => a.Name == "perm").Ints.ToArray();

    [TestMethod]
    public void Apply_OnTorchAttention_SplitsTheKeyTransposeAndComputesTheSame()
    {
        var model = TorchAttention();
        var expected = OrtRunner.Run(model, Inputs(), "context")["context"];

        Assert.AreEqual(1, KeySwapRewrite.Apply(model.Graph));

        var nodes = model.Graph.Node;
        var swap = nodes.Single(n => n.Output[0] == "k_t");
        CollectionAssert.AreEqual(new long[] { 0, 1, 3, 2 }, Perm(swap), "kᵀ is now a last-two-axes swap");
        var kept = nodes.Single(n => n.Output[0] == swap.Input[0]);
        Assert.AreEqual("Reshape", kept.OpType);
        CollectionAssert.AreEqual(new long[] { 0, 0, 0, 0 }, new GraphConstants(model).Integers(kept.Input[1]),
            "a Reshape to the same shape");
        var heads = nodes.Single(n => n.Output[0] == kept.Input[0]);
        CollectionAssert.AreEqual(new long[] { 0, 2, 1, 3 }, Perm(heads), "the keys split into heads as queries and values are");
        Assert.AreEqual("k_split", heads.Input[0]);
        Assert.IsFalse(nodes.Any(n => n.OpType == "Transpose" && Perm(n).SequenceEqual(new long[] { 0, 2, 3, 1 })));
        Assert.IsLessThanOrEqualTo(1e-6f, OrtRunner.MaxAbsDiff(expected, OrtRunner.Run(model, Inputs(), "context")["context"]));
    }

    [TestMethod]
    public void Apply_WhenTheKeyTransposeIsReadByMoreThanAProduct_LeavesItAlone()
    {
        // kᵀ also feeds an Add (and is a graph output in the second case): its swap would not fold, so nothing is gained.
        var readElsewhere = TorchAttention(g => g.Node.Add(TinyModels.Node("Add", ["k_t", "k_t"], ["k_twice"])));
        var output = TorchAttention(g => g.Output.Add(TinyModels.FloatValue("k_t", "batch", 2, 3, 4)));
        var leftOperand = TorchAttention(g => g.Node.Add(TinyModels.Node("MatMul", ["k_t", "q_heads"], ["other"])));

        Assert.AreEqual(0, KeySwapRewrite.Apply(readElsewhere.Graph));
        Assert.AreEqual(0, KeySwapRewrite.Apply(output.Graph));
        Assert.AreEqual(0, KeySwapRewrite.Apply(leftOperand.Graph));
        Assert.AreEqual(0, KeySwapRewrite.Apply(TorchAttention(g => g.Node.Single(n => n.Output[0] == "k_t").Attribute[0] = Attr.Ints("perm", 0, 2, 1, 3)).Graph),
            "no (0, 2, 3, 1) transpose, nothing to split");
    }

    // The attention above as a gradient check (MatMulRulesTests'): q, k, v trainable, in float64.
    static GradientCheck Attention(bool split)
    {
        var check = MatMulRulesTests.Attention(fusionShaped: true);
        if (split)
            Assert.AreEqual(1, KeySwapRewrite.Apply(check.Graph));
        return check;
    }

    [TestMethod]
    public void Differentiate_ThroughTheSplitKey_MatchesCentralDifferences_AndReadsTheHeadSplitKeysAsTheyAre()
    {
        var check = Attention(split: true);
        string heads = check.Graph.Node.Single(n => n.OpType == "Transpose" && n.Input[0] == "k_split").Output[0];

        var backward = check.Verify();

        // dq = dS·(kᵀ)ᵀ = dS·k_heads: the product reads the head-split keys, no swap of kᵀ is emitted.
        Assert.IsTrue(backward.Nodes.Any(n => n.OpType == "MatMul" && n.Input[1] == heads), "dq's product reads the head-split keys directly");
        Assert.IsFalse(backward.Nodes.Any(n => n.Input.Contains("k_t")), "nothing in the backward reads kᵀ");
        // The same-shape Reshape passes the gradient on, so dk leaves as in the unsplit graph (merged first, then one
        // swap its product folds, DESIGN.md §4.2); only kᵀ's kept swap for dq (a Reshape and a Transpose) is gone.
        var unsplit = Attention(split: false).Verify();
        Assert.AreEqual(unsplit.Nodes.Count(n => n.OpType == "Transpose") - 1, backward.Nodes.Count(n => n.OpType == "Transpose"));
        Assert.AreEqual(unsplit.Nodes.Count(n => n.OpType == "Reshape") - 1, backward.Nodes.Count(n => n.OpType == "Reshape"));
        Assert.AreEqual(unsplit.Nodes.Count, backward.Nodes.Count + 2, "nothing else changes");
    }

    [TestMethod]
    public void Apply_OrtMaterializesTheHeadSplitAndFoldsTheSwap()
    {
        // What ONNX Runtime keeps of the key transposes: the (0, 2, 3, 1) copy without the split; with it, only the
        // (0, 2, 1, 3) head split (the swap folds into the score product). Without the Reshape between them ORT merges
        // the two transposes back into (0, 2, 3, 1).
        List<long[]> KeyTransposes(OnnxModel model)
        {
            string optimized = Path.Combine(Directory.CreateTempSubdirectory("vblora-keys").FullName, "optimized.onnx");
            using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized })
            using (new InferenceSession(model.ToBytesInline(), options)) { }
            return OnnxModel.Load(optimized).Graph.Node.Where(n => n.OpType == "Transpose" && n.Input[0] is not ("q_split" or "v_split"))
                .Select(Perm).ToList();
        }
        var plain = TorchAttention();
        var split = TorchAttention();
        KeySwapRewrite.Apply(split.Graph);
        var withoutReshape = TorchAttention();
        KeySwapRewrite.Apply(withoutReshape.Graph);
        var kept = withoutReshape.Graph.Node.Single(n => n.OpType == "Reshape" && n.Input[0].EndsWith("/heads", StringComparison.Ordinal));
        withoutReshape.Graph.Node.Single(n => n.Input.Contains(kept.Output[0])).Input[0] = kept.Input[0];
        withoutReshape.Graph.Node.Remove(kept);

        CollectionAssert.AreEqual(new long[] { 0, 2, 3, 1 }, KeyTransposes(plain).Single());
        CollectionAssert.AreEqual(new long[] { 0, 2, 1, 3 }, KeyTransposes(split).Single(), "only the head split is materialized");
        CollectionAssert.AreEqual(new long[] { 0, 2, 3, 1 }, KeyTransposes(withoutReshape).Single(), "the control: merged back without the Reshape");
    }
}
