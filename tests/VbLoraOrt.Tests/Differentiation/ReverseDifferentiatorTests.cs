using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Differentiation;
using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>The driver: which nodes it differentiates, how it sums fan-out, and how it fails.</summary>
[TestClass]
public sealed class ReverseDifferentiatorTests
{
    // TwoLayerMlp plus loss = ReduceSum(y).
    static OnnxModel MlpWithLoss()
    {
        var model = TinyModels.TwoLayerMlp();
        model.Graph.Node.Add(TinyModels.Node("ReduceSum", ["y"], [ArtifactNames.Loss], "loss_sum", Attr.Int("keepdims", 0)));
        model.Graph.Output.Add(TinyModels.FloatValue(ArtifactNames.Loss));
        return model;
    }

    // x read by four nodes: its gradient is the sum of four contributions.
    static GradientCheck FanOut(object[]? declared, bool fusionShaped = true) =>
        new GradientCheck(fusionShaped: fusionShaped).Input("x", [2, 3], declared)
            .Node("Tanh", ["x"], ["a"]).Node("Sigmoid", ["x"], ["b"]).Node("Exp", ["x"], ["c"]).Node("Neg", ["x"], ["d"]).LossOf("a", "b", "c", "d");

    [TestMethod]
    public void FanOut_OfABatchSizedValue_AddsItsGradientsAsATree()
    {
        // ONNX Runtime's CPU Sum runs on one thread; a batch-sized gradient is summed by Adds, which use the whole pool.
        var backward = FanOut(["batch", 3]).Verify();
        Assert.IsFalse(backward.Nodes.Any(n => n.OpType == "Sum"));
        var adds = backward.Nodes.Where(n => n.OpType == "Add").ToList();
        Assert.AreEqual(backward.Gradients["x"], adds.Single(a => adds.Any(b => b.Output[0] == a.Input[0]) && adds.Any(b => b.Output[0] == a.Input[1])).Output[0],
            "a balanced tree: the last Add adds two Adds");
        Assert.IsTrue(FanOut(["batch", 3], fusionShaped: false).Verify().Nodes.Any(n => n.OpType == "Sum"), "without FusionShaped: one Sum");
    }

    [TestMethod]
    public void FanOut_OfASmallStaticValue_StaysOneSum() =>
        Assert.AreEqual(1, FanOut(null).Verify().Nodes.Count(n => n.OpType == "Sum"), "a [2, 3] gradient: one Sum node");

    [TestMethod]
    public void Differentiate_WhenOnlyUpperLayerTrains_DifferentiatesNothingBelowIt()
    {
        var model = MlpWithLoss();
        var backward = ReverseDifferentiator.Differentiate(model, ArtifactNames.Loss, ["102", "layer2.bias"]);

        CollectionAssert.AreEquivalent(new[] { "102", "layer2.bias" }, backward.Gradients.Keys.ToArray());
        foreach (var frozen in new[] { "x", "101", "layer1.bias", "h0", "h1", "h2" })
            Assert.IsFalse(backward.DifferentiatedValues.Contains(frozen), $"'{frozen}' lies below the trainable layer or is frozen");
        Assert.AreEqual(1, backward.Nodes.Count(n => n.OpType is "MatMul" or "Gemm"), "only dW2 needs a product");
    }

    [TestMethod]
    public void Differentiate_WhenLowerLayerTrains_FrozenUpperLayerCostsOneProduct()
    {
        var model = MlpWithLoss();
        var backward = ReverseDifferentiator.Differentiate(model, ArtifactNames.Loss, ["101"]);

        Assert.IsFalse(backward.DifferentiatedValues.Contains("102"), "the frozen weight gets no gradient");
        Assert.IsFalse(backward.DifferentiatedValues.Contains("layer2.bias"));
        Assert.IsFalse(backward.DifferentiatedValues.Contains("x"), "the graph input below the trainable weight gets no gradient");
        Assert.AreEqual(2, backward.Nodes.Count(n => n.OpType is "MatMul" or "Gemm"), "dh = g·W2ᵀ and dW1 = xᵀ·dh1, nothing else");
        Assert.IsTrue(backward.Nodes.All(n => n.Domain is "" or "ai.onnx"));
    }

    [TestMethod]
    public void Differentiate_WithInitializerAsTrainable_MatchesSameTensorFedAsInput()
    {
        var asInitializer = MlpWithLoss();
        var asInput = MlpWithLoss();
        var w = asInput.Graph.Initializer.Single(t => t.Name == "101");
        asInput.Graph.Initializer.Remove(w);
        asInput.Graph.Input.Add(TinyModels.FloatValue("101", 4, 8));
        var x = new DenseTensor<float>(TinyModels.Random(12, 9), [3, 4]);

        var fromInitializer = RunGradient(asInitializer, "101", new() { ["x"] = x });
        var fromInput = RunGradient(asInput, "101", new() { ["x"] = x, ["101"] = new DenseTensor<float>(asInitializer.Tensors.ReadFloats(w), [4, 8]) });

        Assert.AreEqual(0f, OrtRunner.MaxAbsDiff(fromInitializer, fromInput));
        Assert.IsTrue(fromInput.ToArray().Any(v => v != 0), "the gradient is not trivially zero");
    }

    static Tensor<float> RunGradient(OnnxModel model, string wrt, Dictionary<string, object> feeds)
    {
        var backward = ReverseDifferentiator.Differentiate(model, ArtifactNames.Loss, [wrt]);
        model.Graph.Node.Add(TinyModels.Node("Identity", [backward.Gradients[wrt]], [ArtifactNames.Grad(wrt)]));
        model.Graph.Output.Add(TinyModels.FloatValue(ArtifactNames.Grad(wrt), 4, 8));
        return OrtRunner.Run(model, feeds, ArtifactNames.Grad(wrt))[ArtifactNames.Grad(wrt)];
    }

    [TestMethod]
    public void Differentiate_WithFanOut_SumsEveryConsumersGradient()
    {
        var backward = new GradientCheck().Input("x", [2, 3])
            .Node("Tanh", ["x"], ["t"]).Node("Exp", ["x"], ["e"]).Node("Mul", ["x", "t"], ["m"])
            .Node("Add", ["m", "e"], ["s"]).Node("Add", ["s", "x"], ["y"]).Verify();
        Assert.IsTrue(backward.Nodes.Any(n => n.OpType == "Sum"), "four contributions to dx are summed at once");
    }

    [TestMethod]
    public void Differentiate_WhenOpHasNoRule_ThrowsNamingOpNodeAndPath()
    {
        var model = MlpWithLoss();
        var tanh = model.Graph.Node.Single(n => n.Name == "Tanh_2");
        tanh.OpType = "Cos";
        tanh.Name = "cos_activation";
        int nodes = model.Graph.Node.Count, initializers = model.Graph.Initializer.Count;

        var error = Assert.ThrowsExactly<DifferentiationException>(() =>
            ReverseDifferentiator.Differentiate(model, ArtifactNames.Loss, ["101"]));

        StringAssert.Contains(error.Message, "'Cos'");
        StringAssert.Contains(error.Message, "cos_activation");
        StringAssert.Contains(error.Message, "101 → MatMul 'MatMul_0' → h0 → Add 'Add_1' → h1 → Cos 'cos_activation' → h2");
        StringAssert.Contains(error.Message, $"→ {ArtifactNames.Loss}");
        Assert.AreEqual(nodes, model.Graph.Node.Count, "the graph is left unchanged");
        Assert.AreEqual(initializers, model.Graph.Initializer.Count);
    }

    [TestMethod]
    public void Differentiate_WhenOpWithoutRuleIsOffThePath_Succeeds()
    {
        var model = MlpWithLoss();
        model.Graph.Node.Single(n => n.Name == "Tanh_2").OpType = "Cos";

        var backward = ReverseDifferentiator.Differentiate(model, ArtifactNames.Loss, ["102"]);

        Assert.IsTrue(backward.Gradients.ContainsKey("102"), "the Cos lies below the trainable weight, so it needs no rule");
    }

    [TestMethod]
    public void Differentiate_WhenRuleCannotHandleAttribute_ThrowsNamingIt()
    {
        var check = new GradientCheck(opset: 16).Input("data", [3, 4]).Input("updates", [3, 1])
            .Initializer(Tensors.Int64("ids", [3, 1], [0, 2, 3]))
            .Node("ScatterElements", ["data", "ids", "updates"], ["y"], Attr.Int("axis", 1), Attr.String("reduction", "mul"));

        var error = Assert.ThrowsExactly<DifferentiationException>(() => check.Verify());

        StringAssert.Contains(error.Message, "reduction 'mul'");
        StringAssert.Contains(error.Message, "ScatterElements_0");
    }

    [TestMethod]
    public void Differentiate_WhenTrainableDoesNotReachLoss_ThrowsNamingIt()
    {
        var model = MlpWithLoss();
        model.Graph.Input.Add(TinyModels.FloatValue("unused", 3));

        var error = Assert.ThrowsExactly<DifferentiationException>(() =>
            ReverseDifferentiator.Differentiate(model, ArtifactNames.Loss, ["101", "unused"]));

        StringAssert.Contains(error.Message, "'unused' does not influence loss");
    }

    [TestMethod]
    public void Differentiate_WhenNameIsNotInGraph_ThrowsNamingIt()
    {
        var model = MlpWithLoss();

        var error = Assert.ThrowsExactly<DifferentiationException>(() =>
            ReverseDifferentiator.Differentiate(model, ArtifactNames.Loss, ["encoder.missing"]));

        StringAssert.Contains(error.Message, "'encoder.missing'");
    }

    [TestMethod]
    public void Differentiate_WhenLossIsNotScalar_Throws()
    {
        var model = TinyModels.TwoLayerMlp();
        model.Graph.Input[0] = TinyModels.FloatValue("x", 3, 4);

        var error = Assert.ThrowsExactly<DifferentiationException>(() =>
            ReverseDifferentiator.Differentiate(model, "y", ["101"]));

        StringAssert.Contains(error.Message, "reduce it to a scalar");
    }
}
