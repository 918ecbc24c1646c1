using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Differentiation;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>
/// The whole backward pass on the real export: MiniLM with VB-LoRA on query,value, a classification head and
/// cross-entropy, differentiated by <c>vblora-graph prepare</c>, checked against directional finite differences.
/// </summary>
[TestClass]
public sealed class MiniLmVbLoraGradientTests
{
    const int K = 2, H = 16;
    static string _artifacts = null!;
    static Dictionary<string, float[]> _values = null!;
    static Dictionary<string, long[]> _shapes = null!;

    [ClassInitialize]
    public static void PrepareOnce(TestContext _)
    {
        _artifacts = PreparedArtifacts.NewFolder("vblora-grad");
        var manifest = ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = RealModel.ModelPath,
            OutputDirectory = _artifacts,
            Method = new VbLoraMethod(new VbLoraOptions { NumVectors = H, VectorLength = 128, Rank = 4, TopK = K }),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 3, Pooling = Pooling.Cls },
        });
        // Trained-looking values: a bank of realistic size and well-separated logits, so no top-k choice flips
        // inside the finite-difference step (the check below verifies that).
        _values = [];
        _shapes = [];
        foreach (var t in manifest.Trainables)
        {
            var random = new Random(t.Name.Length * 7919 + (int)t.ElementCount);
            float scale = t.Group switch { "bank" => 0.3f, "logits" => 2f, _ => 0.2f };
            _values[t.Name] = Enumerable.Range(0, (int)t.ElementCount).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
            _shapes[t.Name] = t.Shape;
        }
    }

    static Dictionary<string, object> Feeds(IReadOnlyDictionary<string, float[]> values)
    {
        var feeds = RealModel.Batch(RealModel.EightSentences[..4]);
        feeds[ArtifactNames.Labels] = new DenseTensor<long>(new long[] { 0, 2, 1, 2 }, [4]);
        foreach (var (name, v) in values)
            feeds[name] = new DenseTensor<float>(v, _shapes[name].Select(d => (int)d).ToArray());
        return feeds;
    }

    static (float Loss, Dictionary<string, float[]> Grads) Run(InferenceSession session, IReadOnlyDictionary<string, float[]> values)
    {
        var inputs = Feeds(values).Select(kv => kv.Value switch
        {
            DenseTensor<float> f => NamedOnnxValue.CreateFromTensor(kv.Key, f),
            DenseTensor<long> l => NamedOnnxValue.CreateFromTensor(kv.Key, l),
            _ => throw new InvalidOperationException(),
        }).ToList();
        using var results = session.Run(inputs);
        var byName = results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
        return (byName[ArtifactNames.Loss][0], values.Keys.ToDictionary(n => n, n => byName[ArtifactNames.Grad(n)]));
    }

    [TestMethod]
    public void Gradients_OfBankLogitsAndHead_MatchDirectionalFiniteDifferences()
    {
        // One thread: every run reduces in the same order, so loss differences are not thread-scheduling noise.
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(Path.Combine(_artifacts, ArtifactNames.TrainingModel), options);
        var (_, grads) = Run(session, _values);
        var random = new Random(12345);

        for (int trial = 0; trial < 3; trial++)
        {
            // A random unit direction over every trainable at once.
            var direction = _values.ToDictionary(kv => kv.Key, kv => kv.Value.Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray());
            double norm = Math.Sqrt(direction.Values.Sum(d => d.Sum(x => (double)x * x)));
            foreach (var d in direction.Values) for (int i = 0; i < d.Length; i++) d[i] = (float)(d[i] / norm);
            // Large enough that float32 rounding of the loss (~1e-7 relative) is small against the difference,
            // small enough that no top-k choice flips (asserted) and curvature stays below the bound.
            const float step = 8e-3f;
            AssertTopKStable(direction, step);

            double analytic = grads.Sum(kv => kv.Value.Zip(direction[kv.Key]).Sum(p => (double)p.First * p.Second));
            float plus = Run(session, Shift(direction, step)).Loss, minus = Run(session, Shift(direction, -step)).Loss;
            double numeric = (plus - (double)minus) / (2 * step);
            double relative = Math.Abs(analytic - numeric) / Math.Max(Math.Abs(numeric), 1e-6);

            Assert.IsTrue(relative <= 1e-2, $"direction {trial}: analytic {analytic:E4} vs finite difference {numeric:E4} (relative error {relative:E2})");
        }
    }

    [TestMethod]
    public void TrainingLoss_EqualsEvalModelLoss()
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var training = new InferenceSession(Path.Combine(_artifacts, ArtifactNames.TrainingModel), options);
        var (loss, _) = Run(training, _values);

        var evalOutputs = OrtRunner.RunFile(Path.Combine(_artifacts, ArtifactNames.EvalModel), Feeds(_values), ArtifactNames.Loss);

        Assert.AreEqual(evalOutputs[ArtifactNames.Loss].GetValue(0), loss, 1e-5f);
    }

    [TestMethod]
    public void Backward_OnMiniLM_DifferentiatesNoFrozenWeightAndOnlyNeededMatMuls()
    {
        var baseModel = OnnxModel.Load(RealModel.ModelPath);
        var method = new VbLoraMethod(new VbLoraOptions { NumVectors = H, VectorLength = 128 });
        var targets = TargetSelector.Select(LinearModuleFinder.Find(baseModel), TargetSpec.FromNames(["query", "value"]));
        var injected = AdapterInjector.InjectWithGraphInputs(baseModel, method, targets);
        var model = injected.Model;
        var head = TaskHead.Append(model, new TaskOptions { NumLabels = 3 }, "last_hidden_state", "attention_mask", 384,
            withLoss: true, headAsInputs: true, seed: 1);
        var trainables = injected.Plan.Parameters.Concat(head.Trainables).Select(t => t.Name).ToList();
        var forward = model.Graph.Node.ToList();

        var gradients = ReverseDifferentiator.Differentiate(model, head.LossName!, trainables);

        var frozen = model.Graph.Initializer.Select(t => t.Name).ToHashSet();
        CollectionAssert.AreEqual(Array.Empty<string>(), gradients.DifferentiatedValues.Where(frozen.Contains).ToArray(),
            "frozen initializers must get no gradient");
        // What the math needs: one backward MatMul per (forward MatMul/Gemm feeding the loss, input that depends on a trainable).
        var dependsOnTrainable = new HashSet<string>(trainables);
        foreach (var node in forward)
            if (node.Input.Any(dependsOnTrainable.Contains))
                foreach (var o in node.Output) dependsOnTrainable.Add(o);
        var feedsLoss = new HashSet<string> { head.LossName! };
        foreach (var node in Enumerable.Reverse(forward))
            if (node.Output.Any(feedsLoss.Contains))
                foreach (var i in node.Input) feedsLoss.Add(i);
        int needed = forward.Where(n => n.OpType is "MatMul" or "Gemm" && n.Output.Any(feedsLoss.Contains))
            .Sum(n => n.Input.Take(2).Count(dependsOnTrainable.Contains));
        // Before opset 16 there is no scatter-add; a Gather's backward is a one-hot MatMul (MiniLM is opset 13).
        needed += forward.Count(n => n.OpType == "Gather" && n.Output.Any(feedsLoss.Contains) && dependsOnTrainable.Contains(n.Input[0]));
        int emitted = gradients.Nodes.Count(n => n.OpType is "MatMul" or "Gemm");
        Assert.IsTrue(emitted <= needed, $"backward has {emitted} MatMul/Gemm where the math needs {needed}");
        Assert.IsFalse(gradients.DifferentiatedValues.Contains(targets[0].InputName),
            "nothing below the lowest adapted layer is differentiated (layer 0's input needs no gradient)");
    }

    Dictionary<string, float[]> Shift(Dictionary<string, float[]> direction, float step) =>
        _values.ToDictionary(kv => kv.Key, kv => kv.Value.Select((v, i) => v + step * direction[kv.Key][i]).ToArray());

    // Every sub-vector's k-th and (k+1)-th logits must stay ordered within the step.
    void AssertTopKStable(Dictionary<string, float[]> direction, float step)
    {
        foreach (var (name, values) in _values.Where(kv => kv.Key.StartsWith("vblora_logits", StringComparison.Ordinal)))
            for (int row = 0; row < values.Length / H; row++)
            {
                var sorted = values.Skip(row * H).Take(H).Order().Reverse().ToArray();
                float gap = sorted[K - 1] - sorted[K];
                float move = direction[name].Skip(row * H).Take(H).Max(Math.Abs) * step * 2;
                Assert.IsTrue(move < gap, $"{name} row {row}: gap {gap} is within the step ({move}); pick another seed");
            }
    }
}
