using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Differentiation.Pruning;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Pruning;

/// <summary>
/// Position pruning on small graphs: a selection of one position moves up through ops that compute positions
/// independently, stops at ops that mix them, and the selected output stays the same.
/// </summary>
[TestClass]
public sealed class PositionPruningTests
{
    const int Batch = 2, Seq = 5, Width = 4;

    // x [batch, sequence, 4] → nodes → `last` → Gather(axis 1, index) → y; returns the model.
    static OnnxModel Chain(long opset, string last, long index, Action<GraphProto> build, params string[] extraInputs)
    {
        var m = TinyModels.NewModel(opset);
        var g = m.Graph;
        g.Input.Add(TinyModels.FloatValue("x", "batch", "sequence", Width));
        foreach (string name in extraInputs)
            g.Input.Add(TinyModels.Value(name, (int)TensorProto.Types.DataType.Int64, "batch", "sequence"));
        build(g);
        g.Initializer.Add(Tensors.Int64("pick", [], [index]));
        g.Node.Add(TinyModels.Node("Gather", [last, "pick"], ["y"], attrs: Attr.Int("axis", 1)));
        g.Output.Add(new ValueInfoProto { Name = "y", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        return OnnxModel.FromProto(m);
    }

    static Dictionary<string, object> Inputs(params string[] ids)
    {
        var inputs = new Dictionary<string, object> { ["x"] = new DenseTensor<float>(TinyModels.Random(Batch * Seq * Width, 11), [Batch, Seq, Width]) };
        foreach (string id in ids)
            inputs[id] = new DenseTensor<long>(Enumerable.Range(0, Batch * Seq).Select(i => (long)(i * 7 % 10)).ToArray(), [Batch, Seq]);
        return inputs;
    }

    // Prunes a copy; asserts the selected output is unchanged; returns the result and the pruned graph.
    static (PositionPruningResult Result, GraphProto Graph) PruneAndCompare(OnnxModel model, Dictionary<string, object> inputs)
    {
        var pruned = OnnxModel.FromProto(model.Proto.Clone());
        var result = PositionPruning.Apply(pruned);
        var expected = OrtRunner.Run(model, inputs, "y")["y"];
        var actual = OrtRunner.Run(pruned, inputs, "y")["y"];
        Assert.IsLessThanOrEqualTo(1e-6f, OrtRunner.MaxAbsDiff(expected, actual), "the selected output changed");
        return (result, pruned.Graph);
    }

    static void Weight(GraphProto g, string name, int rows, int cols, int seed) =>
        g.Initializer.Add(Tensors.Float(name, [rows, cols], TinyModels.Random(rows * cols, seed, 0.5f)));

    [TestMethod]
    [DataRow(0L)]
    [DataRow(3L)]
    public void Apply_ThroughRowwiseOps_ComputesOneRowOfEach(long index)
    {
        // Linear → bias → erf → layer norm → heads reshape (exporter-style Shape arithmetic) → transpose →
        // transpose back → merge heads → mean-centring: every op is independent per position.
        var model = Chain(17, "centred", index, g =>
        {
            Weight(g, "w", Width, 6, 1);
            g.Initializer.Add(Tensors.Float("b", [6], TinyModels.Random(6, 2)));
            g.Initializer.Add(Tensors.Float("gamma", [6], TinyModels.Random(6, 3)));
            g.Initializer.Add(Tensors.Int64("i0", [], [0]));
            g.Initializer.Add(Tensors.Int64("i1", [], [1]));
            g.Initializer.Add(Tensors.Int64Vector("zero", 0));
            g.Initializer.Add(Tensors.Int64Vector("heads", 2, 3));
            g.Initializer.Add(Tensors.Int64Vector("merged", 0, 0, 6));
            g.Node.Add(TinyModels.Node("MatMul", ["x", "w"], ["h0"]));
            g.Node.Add(TinyModels.Node("Add", ["b", "h0"], ["h1"]));
            g.Node.Add(TinyModels.Node("Erf", ["h1"], ["h2"]));
            g.Node.Add(TinyModels.Node("LayerNormalization", ["h2", "gamma"], ["h3"], attrs: Attr.Int("axis", -1)));
            g.Node.Add(TinyModels.Node("Shape", ["h3"], ["s"]));
            g.Node.Add(TinyModels.Node("Gather", ["s", "i0"], ["s_b"], attrs: Attr.Int("axis", 0)));
            g.Node.Add(TinyModels.Node("Gather", ["s", "i1"], ["s_s"], attrs: Attr.Int("axis", 0)));
            g.Node.Add(TinyModels.Node("Unsqueeze", ["s_b", "zero"], ["s_b1"]));
            g.Node.Add(TinyModels.Node("Unsqueeze", ["s_s", "zero"], ["s_s1"]));
            g.Node.Add(TinyModels.Node("Concat", ["s_b1", "s_s1", "heads"], ["target"], attrs: Attr.Int("axis", 0)));
            g.Node.Add(TinyModels.Node("Reshape", ["h3", "target"], ["h4"]));
            g.Node.Add(TinyModels.Node("Transpose", ["h4"], ["h5"], attrs: Attr.Ints("perm", 0, 2, 1, 3)));
            g.Node.Add(TinyModels.Node("Transpose", ["h5"], ["h6"], attrs: Attr.Ints("perm", 0, 2, 1, 3)));
            g.Node.Add(TinyModels.Node("Reshape", ["h6", "merged"], ["h7"]));
            g.Node.Add(TinyModels.Node("ReduceMean", ["h7"], ["mean"], attrs: Attr.Ints("axes", -1)));
            g.Node.Add(TinyModels.Node("Sub", ["h7", "mean"], ["centred"]));
        });

        var (result, graph) = PruneAndCompare(model, Inputs());

        // MatMul, Add, Erf, LayerNormalization, 2 Reshapes, 2 Transposes, ReduceMean, Sub.
        Assert.AreEqual(10, result.RowNodes);
        Assert.AreEqual(1, result.Slices, "x, a graph input, is sliced once");
        Assert.IsFalse(graph.Node.Any(n => n.OpType == "Shape"), "the run-time reshape arithmetic of all positions is gone");
        var slice = graph.Node.Single(n => n.OpType == "Slice");
        Assert.AreEqual("x", slice.Input[0]);
        Assert.AreEqual(slice.Output[0], graph.Node.Single(n => n.OpType == "MatMul").Input[0], "the projection reads one row");
    }

    [TestMethod]
    [DataRow(11L)]
    [DataRow(13L)]
    public void Apply_ThroughAttention_KeepsKeysAndValuesWhole(long opset)
    {
        // q·kᵀ → softmax over keys → ·v → output projection → residual: only the query side is per position.
        var model = Chain(opset, "out", 0, g =>
        {
            Weight(g, "wq", Width, Width, 1); Weight(g, "wk", Width, Width, 2); Weight(g, "wv", Width, Width, 3); Weight(g, "wo", Width, Width, 4);
            g.Node.Add(TinyModels.Node("MatMul", ["x", "wq"], ["q"]));
            g.Node.Add(TinyModels.Node("MatMul", ["x", "wk"], ["k"]));
            g.Node.Add(TinyModels.Node("MatMul", ["x", "wv"], ["v"]));
            g.Node.Add(TinyModels.Node("Transpose", ["k"], ["kt"], attrs: Attr.Ints("perm", 0, 2, 1)));
            g.Node.Add(TinyModels.Node("MatMul", ["q", "kt"], ["scores"]));
            g.Node.Add(TinyModels.Node("Softmax", ["scores"], ["probs"], attrs: Attr.Int("axis", 2)));
            g.Node.Add(TinyModels.Node("MatMul", ["probs", "v"], ["context"]));
            g.Node.Add(TinyModels.Node("MatMul", ["context", "wo"], ["o"]));
            g.Node.Add(TinyModels.Node("Add", ["o", "x"], ["out"]));
        });

        var (result, graph) = PruneAndCompare(model, Inputs());

        // q, scores, softmax, context, output projection, residual; k, its transpose and v stay whole.
        Assert.AreEqual(6, result.RowNodes);
        Assert.AreEqual(1, result.Slices, "x is sliced once and shared by the query projection and the residual");
        Assert.IsTrue(graph.Node.Any(n => n.OpType == "MatMul" && n.Input.SequenceEqual(["x", "wk"])), "keys use every position");
        Assert.IsTrue(graph.Node.Any(n => n.OpType == "MatMul" && n.Input.SequenceEqual(["x", "wv"])), "values use every position");
        Assert.IsFalse(graph.Node.Any(n => n.Output.Contains("out")), "the whole-sequence output is removed");
    }

    [TestMethod]
    public void Apply_WhenTokenIdsFeedAnEmbedding_SelectsTheIds()
    {
        var model = Chain(13, "h", 1, g =>
        {
            Weight(g, "table", 10, Width, 5);
            g.Node.Add(TinyModels.Node("Gather", ["table", "ids"], ["embedded"], attrs: Attr.Int("axis", 0)));
            g.Node.Add(TinyModels.Node("Add", ["embedded", "x"], ["h"]));
        }, "ids");

        var (result, graph) = PruneAndCompare(model, Inputs("ids"));

        Assert.AreEqual(2, result.RowNodes);
        Assert.IsTrue(graph.Node.Any(n => n.OpType == "Slice" && n.Input[0] == "ids"), "the lookup reads one token id per row");
    }

    [TestMethod]
    public void Apply_WhenOpsMixPositions_ChangesNothing()
    {
        // Softmax and a reduction over the sequence axis: every position of their input matters.
        var model = Chain(13, "mixed", 0, g =>
        {
            g.Node.Add(TinyModels.Node("Softmax", ["x"], ["p"], attrs: Attr.Int("axis", 1)));
            g.Node.Add(TinyModels.Node("ReduceMean", ["x"], ["m"], attrs: Attr.Ints("axes", 1)));
            g.Node.Add(TinyModels.Node("Add", ["p", "m"], ["mixed"]));
        });
        int before = model.Graph.Node.Count;

        var (result, graph) = PruneAndCompare(model, Inputs());

        // Only the final Add can run on one row: it reads a slice of the softmax and the (position-free) mean.
        Assert.AreEqual(1, result.RowNodes);
        Assert.IsTrue(graph.Node.Any(n => n.OpType == "Softmax" && n.Input[0] == "x"));
        Assert.IsTrue(graph.Node.Any(n => n.OpType == "ReduceMean" && n.Input[0] == "x"));
        Assert.AreEqual(before + 1, graph.Node.Count, "one slice (of the softmax) added, nothing else");
    }

    [TestMethod]
    public void Apply_WithoutASelection_LeavesTheGraphAlone()
    {
        var model = TinyModels.TwoLayerMlp();
        var before = model.Proto.Clone();

        var result = PositionPruning.Apply(model);

        Assert.IsFalse(result.Changed);
        Assert.AreEqual(before, model.Proto);
    }

    [TestMethod]
    public void Apply_WhenTheSelectedValueIsAlsoAnOutput_KeepsItWhole()
    {
        var model = Chain(13, "h", 0, g =>
        {
            Weight(g, "w", Width, Width, 1);
            g.Node.Add(TinyModels.Node("MatMul", ["x", "w"], ["h"]));
        });
        model.Graph.Output.Add(TinyModels.FloatValue("h", "batch", "sequence", Width));

        var (result, graph) = PruneAndCompare(model, Inputs());

        Assert.IsFalse(result.Changed);
        Assert.IsTrue(graph.Node.Any(n => n.OpType == "MatMul" && n.Output[0] == "h"));
    }
}
