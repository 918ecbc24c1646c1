using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Differentiation;
using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>
/// The backward pass of the real all-MiniLM-L6-v2 export (torch 1.10, opset 13) with layer 5's query and value
/// weights and its attention LayerNorm weight trainable, checked against directional finite differences.
/// </summary>
[TestClass]
public sealed class RealModelGradientTests
{
    const string LayerNormWeight = "encoder.layer.5.attention.output.LayerNorm.weight";

    public TestContext TestContext { get; set; } = null!;

    sealed record Prepared(OnnxModel Forward, OnnxModel Training, GradientGraph Backward, string[] Trainables,
        Dictionary<string, DenseTensor<float>> Values, Dictionary<string, object> Batch);

    // Layer 5's query and value weights and attention LayerNorm weight.
    static readonly Lazy<Prepared> Model = new(() => Prepare(forward =>
    [
        LinearWeightBehindBias(forward, "encoder.layer.5.attention.self.query.bias"),
        LinearWeightBehindBias(forward, "encoder.layer.5.attention.self.value.bias"),
        LayerNormWeight,
    ]));

    // Layer 0's query weight: the gradient flows back through all six layers.
    static readonly Lazy<Prepared> DeepModel = new(() => Prepare(forward =>
        [LinearWeightBehindBias(forward, "encoder.layer.0.attention.self.query.bias")]));

    static Prepared Prepare(Func<OnnxModel, string[]> chooseTrainables)
    {
        var forward = OnnxModel.Load(RealModel.ModelPath);
        string[] trainables = chooseTrainables(forward);
        var values = trainables.ToDictionary(t => t, t => MakeGraphInput(forward, t));
        var batch = RealModel.Batch(RealModel.EightSentences);
        AddProjectionLoss(forward, "last_hidden_state", [8, 11, 384]);

        var training = forward.Clone();
        var backward = ReverseDifferentiator.Differentiate(training, ArtifactNames.Loss, trainables);
        foreach (var t in trainables)
        {
            training.Graph.Node.Add(TinyModels.Node("Identity", [backward.Gradients[t]], [ArtifactNames.Grad(t)]));
            training.Graph.Output.Add(TinyModels.FloatValue(ArtifactNames.Grad(t), values[t].Dimensions.ToArray().Select(d => (object)d).ToArray()));
        }
        return new Prepared(forward, training, backward, trainables, values, batch);
    }

    // The MatMul weight of the linear layer whose bias Add uses `bias` (export names weights 992, 996…).
    static string LinearWeightBehindBias(OnnxModel model, string bias)
    {
        var add = model.Graph.Node.Single(n => n.OpType == "Add" && n.Input.Contains(bias));
        string product = add.Input.Single(i => i != bias);
        return model.Graph.Node.Single(n => n.OpType == "MatMul" && n.Output[0] == product).Input[1];
    }

    // Turns a frozen initializer into a graph input (as trainable tensors are fed) and returns its value.
    static DenseTensor<float> MakeGraphInput(OnnxModel model, string name)
    {
        var tensor = model.Graph.Initializer.Single(t => t.Name == name);
        var value = new DenseTensor<float>(model.Tensors.ReadFloats(tensor), tensor.Dims.Select(d => (int)d).ToArray());
        model.Graph.Initializer.Remove(tensor);
        model.Graph.Input.Add(TinyModels.FloatValue(name, tensor.Dims.Select(d => (object)d).ToArray()));
        return value;
    }

    // loss = mean(output ⊙ R) with a fixed random R: every output element matters, with its own weight.
    static void AddProjectionLoss(OnnxModel model, string output, int[] shape)
    {
        int count = shape.Aggregate(1, (a, d) => a * d);
        model.Graph.Initializer.Add(Tensors.Float("loss_projection", shape.Select(d => (long)d).ToArray(), TinyModels.Random(count, 77)));
        model.Graph.Node.Add(TinyModels.Node("Mul", [output, "loss_projection"], ["loss_projected"]));
        model.Graph.Node.Add(TinyModels.Node("ReduceMean", ["loss_projected"], [ArtifactNames.Loss], null, Attr.Int("keepdims", 0)));
        model.Graph.Output.Add(TinyModels.FloatValue(ArtifactNames.Loss));
    }

    static Dictionary<string, object> Feeds(Prepared p, Dictionary<string, DenseTensor<float>> values)
    {
        var feeds = new Dictionary<string, object>(p.Batch);
        foreach (var (name, tensor) in values)
            feeds[name] = tensor;
        return feeds;
    }

    static Dictionary<string, float[]> Run(InferenceSession session, Dictionary<string, object> feeds, params string[] outputs)
    {
        var inputs = feeds.Select(kv => kv.Value switch
        {
            DenseTensor<float> f => NamedOnnxValue.CreateFromTensor(kv.Key, f),
            DenseTensor<long> l => NamedOnnxValue.CreateFromTensor(kv.Key, l),
            _ => throw new ArgumentException(kv.Key),
        }).ToList();
        using var results = session.Run(inputs, outputs);
        return results.ToDictionary(r => r.Name, r => ((DenseTensor<float>)r.Value).Buffer.ToArray());
    }

    static InferenceSession Session(OnnxModel model) =>
        new(model.ToBytesInline(), new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 2 });

    [TestMethod]
    public void Differentiate_MiniLmLayer5_MatchesDirectionalFiniteDifferences() => CheckDirectionalDerivatives(Model.Value);

    [TestMethod]
    public void Differentiate_MiniLmLayer0ThroughAllLayers_MatchesDirectionalFiniteDifferences() => CheckDirectionalDerivatives(DeepModel.Value);

    // float32 forward runs: step h = 1e-2 of each weight's RMS, relative error ≤ 1e-2 along three random directions.
    void CheckDirectionalDerivatives(Prepared p)
    {
        using var training = Session(p.Training);
        using var forward = Session(p.Forward);
        var analytic = Run(training, Feeds(p, p.Values), [ArtifactNames.Loss, .. p.Trainables.Select(ArtifactNames.Grad)]);
        float loss = Run(forward, Feeds(p, p.Values), ArtifactNames.Loss)[ArtifactNames.Loss][0];
        // float32: ORT fuses the forward model's LayerNorm/GELU/attention, which round differently from the unfused ops.
        Assert.AreEqual(loss, analytic[ArtifactNames.Loss][0], 1e-5f * Math.Abs(loss) + 1e-9f, "the training graph's loss equals the forward model's");

        // Directions scaled like each weight, so a step h moves every weight by about h of its own size.
        const double h = 1e-2, tolerance = 1e-2;
        for (int direction = 0; direction < 3; direction++)
        {
            var rng = new Random(100 + direction);
            var step = p.Values.ToDictionary(kv => kv.Key, kv =>
            {
                var w = kv.Value.Buffer.Span;
                double rms = Math.Sqrt(w.ToArray().Average(v => (double)v * v));
                return Enumerable.Range(0, w.Length).Select(_ => rms * (rng.NextDouble() * 2 - 1)).ToArray();
            });
            double expected = p.Trainables.Sum(t => Dot(analytic[ArtifactNames.Grad(t)], step[t]));
            double plus = Run(forward, Feeds(p, Moved(p.Values, step, +h)), ArtifactNames.Loss)[ArtifactNames.Loss][0];
            double minus = Run(forward, Feeds(p, Moved(p.Values, step, -h)), ArtifactNames.Loss)[ArtifactNames.Loss][0];
            double numeric = (plus - minus) / (2 * h);
            double relative = Math.Abs(expected - numeric) / Math.Abs(numeric);
            TestContext.WriteLine($"direction {direction}: backward {expected:G6}, central difference {numeric:G6}, relative error {relative:G3}");
            Assert.IsLessThanOrEqualTo(tolerance, relative, $"direction {direction}: backward {expected}, central difference {numeric}");
        }
    }

    static double Dot(float[] a, double[] b) => a.Select((v, i) => v * b[i]).Sum();

    static Dictionary<string, DenseTensor<float>> Moved(Dictionary<string, DenseTensor<float>> values, Dictionary<string, double[]> step, double h) =>
        values.ToDictionary(kv => kv.Key, kv =>
        {
            var w = kv.Value.Buffer.ToArray();
            var s = step[kv.Key];
            return new DenseTensor<float>(w.Select((v, i) => (float)(v + h * s[i])).ToArray(), kv.Value.Dimensions);
        });

    [TestMethod]
    public void Differentiate_MiniLmLayer5_GivesFrozenWeightsAndLowerLayersNoGradient()
    {
        var p = Model.Value;
        var frozen = p.Forward.Graph.Initializer.Select(t => t.Name).Where(n => n != "loss_projection").ToList();
        Assert.IsGreaterThan(90, frozen.Count, "the export's weights are initializers");
        CollectionAssert.AreEquivalent(p.Trainables, p.Backward.DifferentiatedValues.Intersect(p.Trainables).ToArray());
        Assert.IsFalse(frozen.Any(p.Backward.DifferentiatedValues.Contains),
            $"no frozen weight gets a gradient: {string.Join(", ", frozen.Where(p.Backward.DifferentiatedValues.Contains))}");

        // Layer 5's input (layer 4's output) lies below every trainable tensor.
        var queryMatMul = p.Forward.Graph.Node.Single(n => n.OpType == "MatMul" && n.Input[1] == p.Trainables[0]);
        Assert.IsFalse(p.Backward.DifferentiatedValues.Contains(queryMatMul.Input[0]), "nothing below the lowest trainable tensor is differentiated");
        var layer4 = p.Forward.Graph.Node.Where(n => n.Input.Any(i => i.StartsWith("encoder.layer.4.", StringComparison.Ordinal))).SelectMany(n => n.Output);
        Assert.IsFalse(layer4.Any(p.Backward.DifferentiatedValues.Contains));

        // Products: at most one per forward product on the path plus one per trainable weight of a product.
        int forwardOnPath = p.Forward.Graph.Node.Count(n => n.OpType is "MatMul" or "Gemm" && p.Backward.DifferentiatedValues.Contains(n.Output[0]));
        int trainableWeights = p.Forward.Graph.Node.Count(n => n.OpType is "MatMul" or "Gemm" && p.Trainables.Contains(n.Input[1]));
        int backwardProducts = p.Backward.Nodes.Count(n => n.OpType is "MatMul" or "Gemm");
        TestContext.WriteLine($"forward products on the path {forwardOnPath}, trainable weights {trainableWeights}, backward products {backwardProducts}, backward nodes {p.Backward.Nodes.Count}");
        Assert.IsLessThanOrEqualTo(forwardOnPath + trainableWeights, backwardProducts);
        Assert.IsTrue(p.Backward.Nodes.All(n => n.Domain is "" or "ai.onnx"), "default-domain ops only");
    }

    [TestMethod]
    public void Differentiate_MiniLmWithOpWithoutRule_ErrorShowsTheNodeInsideTheLongChain()
    {
        var model = OnnxModel.Load(RealModel.ModelPath);
        var gelu = model.Graph.Node.First(n => n.OpType == "Erf");
        gelu.OpType = "CustomErf";
        string query0 = LinearWeightBehindBias(model, "encoder.layer.0.attention.self.query.bias");
        MakeGraphInput(model, query0);
        AddProjectionLoss(model, "last_hidden_state", [1, 1, 384]);

        var error = Assert.ThrowsExactly<DifferentiationException>(() =>
            ReverseDifferentiator.Differentiate(model, ArtifactNames.Loss, [query0]));

        StringAssert.StartsWith(error.Message, $"no gradient rule for op 'CustomErf' (node '{gelu.Name}'");
        StringAssert.Contains(error.Message, $": {query0} → MatMul");
        StringAssert.Contains(error.Message, $"→ {gelu.Input[0]} → CustomErf '{gelu.Name}' → {gelu.Output[0]} →");
        StringAssert.Contains(error.Message, $"→ Mul 'Mul_loss_projected' → loss_projected → ReduceMean 'ReduceMean_loss' → {ArtifactNames.Loss}. Add a rule for CustomErf");
    }
}
