using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Differentiation.Rewrites;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation.Rewrites;

/// <summary>Torch-decomposed LayerNorm → one opset-17 LayerNormalization: when it rewrites, when it leaves the graph alone.</summary>
[TestClass]
public sealed class StandardOpRewriterTests
{
    const int Hidden = 6;

    // x [2, 3, 6] → torch's LayerNorm (ε 1e-5, γ, β) → y → Tanh → z; `tweak` changes the graph before it is returned.
    static OnnxModel TorchLayerNorm(long opset = 13, Action<GraphProto>? tweak = null)
    {
        var m = TinyModels.NewModel(opset);
        m.IrVersion = 7;
        var g = m.Graph;
        g.Input.Add(TinyModels.FloatValue("x", "batch", 3, Hidden));
        g.Output.Add(TinyModels.FloatValue("z", "batch", 3, Hidden));
        g.Initializer.Add(Tensors.Float("gamma", [Hidden], TinyModels.Random(Hidden, 1, 0.3f).Select(v => 1 + v).ToArray()));
        g.Initializer.Add(Tensors.Float("beta", [Hidden], TinyModels.Random(Hidden, 2, 0.2f)));
        g.Initializer.Add(Tensors.Float("two", [], [2f]));
        g.Initializer.Add(Tensors.Float("eps", [], [1e-5f]));
        void Node(string op, string[] inputs, string output, params AttributeProto[] attrs) => g.Node.Add(TinyModels.Node(op, inputs, [output], null, attrs));
        Node("ReduceMean", ["x"], "mu", Attr.Ints("axes", -1));
        Node("Sub", ["x", "mu"], "d");
        Node("Pow", ["d", "two"], "sq");
        Node("ReduceMean", ["sq"], "var", Attr.Ints("axes", -1));
        Node("Add", ["var", "eps"], "ve");
        Node("Sqrt", ["ve"], "sd");
        Node("Div", ["d", "sd"], "xh");
        Node("Mul", ["xh", "gamma"], "xs");
        Node("Add", ["xs", "beta"], "y");
        Node("Tanh", ["y"], "z");
        tweak?.Invoke(g);
        return OnnxModel.FromProto(m);
    }

    static Dictionary<string, object> Input() =>
        new() { ["x"] = new DenseTensor<float>(TinyModels.Random(2 * 3 * Hidden, 7, 3f).Select(v => v + 5).ToArray(), [2, 3, Hidden]) };

    [TestMethod]
    public void Apply_WhenTorchLayerNorm_ReplacesItByOneNodeComputingTheSame()
    {
        var model = TorchLayerNorm();
        var expected = OrtRunner.Run(model, Input(), "z")["z"];

        var result = StandardOpRewriter.Apply(model, statistics: false);

        Assert.AreEqual(1, result.LayerNormalizations, result.NotApplied);
        Assert.AreEqual(17L, model.Opset);
        Assert.IsGreaterThanOrEqualTo(8L, model.Proto.IrVersion);
        CollectionAssert.AreEqual(new[] { "LayerNormalization", "Tanh" }, model.Graph.Node.Select(n => n.OpType).ToArray());
        var norm = model.Graph.Node[0];
        CollectionAssert.AreEqual(new[] { "x", "gamma", "beta" }, norm.Input.ToArray());
        CollectionAssert.AreEqual(new[] { "y" }, norm.Output.ToArray());
        Assert.AreEqual(1e-5f, Attr.GetFloat(norm, "epsilon", 0f));
        Assert.IsFalse(model.Graph.Initializer.Any(t => t.Name is "two" or "eps"), "constants only the old nodes read are gone");
        Assert.IsLessThanOrEqualTo(1e-5f, OrtRunner.MaxAbsDiff(expected, OrtRunner.Run(model, Input(), "z")["z"]));
    }

    [TestMethod]
    public void Apply_WithStatistics_OutputsMeanAndInvStdDevAndDropReadsNone()
    {
        var model = TorchLayerNorm();

        StandardOpRewriter.Apply(model, statistics: true);
        var norm = model.Graph.Node.Single(n => n.OpType == "LayerNormalization");
        Assert.HasCount(3, norm.Output);
        var probe = model.Clone();
        foreach (string statistic in norm.Output.Skip(1))
            probe.Graph.Output.Add(TinyModels.FloatValue(statistic, "batch", 3, 1));
        var stats = OrtRunner.Run(probe, Input(), norm.Output[1], norm.Output[2]);
        var x = ((DenseTensor<float>)Input()["x"]).Buffer.Span.ToArray();
        for (int row = 0; row < 6; row++)
        {
            var values = x.Skip(row * Hidden).Take(Hidden).Select(v => (double)v).ToArray();
            double mean = values.Average(), variance = values.Select(v => (v - mean) * (v - mean)).Average();
            Assert.AreEqual(mean, stats[norm.Output[1]].GetValue(row), 1e-5, $"mean of row {row}");
            Assert.AreEqual(1 / Math.Sqrt(variance + 1e-5), stats[norm.Output[2]].GetValue(row), 1e-4, $"1/σ of row {row}");
        }

        Assert.AreEqual(1, StandardOpRewriter.DropUnreadStatistics(model.Graph));
        Assert.HasCount(1, norm.Output);
    }

    [TestMethod]
    public void Apply_WhenNormalizedValueIsAGraphOutput_LeavesGraphAlone()
    {
        var model = TorchLayerNorm(tweak: g => g.Output.Add(TinyModels.FloatValue("xh", "batch", 3, Hidden)));
        var before = model.Proto.Clone();

        var result = StandardOpRewriter.Apply(model, statistics: false);

        Assert.AreEqual(0, result.LayerNormalizations);
        Assert.AreEqual(before, model.Proto);
    }

    [TestMethod]
    public void Apply_WhenScaleIsNotAConstant_LeavesGraphAlone()
    {
        var model = TorchLayerNorm(tweak: g =>
        {
            g.Input.Add(TinyModels.FloatValue("gamma", Hidden)); // an input overrides the initializer: trainable
        });
        var before = model.Proto.Clone();

        Assert.AreEqual(0, StandardOpRewriter.Apply(model, statistics: false).LayerNormalizations);
        Assert.AreEqual(before, model.Proto);
    }

    [TestMethod]
    public void Apply_WhenOpsetBelow13_KeepsTheSubgraphsAndSaysWhy()
    {
        var model = TorchLayerNorm(opset: 12);
        var before = model.Proto.Clone();

        var result = StandardOpRewriter.Apply(model, statistics: false);

        Assert.AreEqual(0, result.LayerNormalizations);
        StringAssert.Contains(result.NotApplied, "opset 12");
        Assert.AreEqual(before, model.Proto);
    }

    [TestMethod]
    public void Apply_WhenAnOpChangedMeaningAfterTheOpset_KeepsTheSubgraphs()
    {
        var model = TorchLayerNorm(tweak: g => g.Node.Add(TinyModels.Node("RoiAlign", ["z", "z", "z"], ["unused"])));

        var result = StandardOpRewriter.Apply(model, statistics: false);

        Assert.AreEqual(0, result.LayerNormalizations);
        StringAssert.Contains(result.NotApplied, "RoiAlign");
        Assert.AreEqual(13L, model.Opset);
    }
}
