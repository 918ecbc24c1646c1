using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Contract;
using VbLoraOrt.Tests.OrtTraining;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Artifacts;

/// <summary>
/// Artifacts prepared with the base model's LayerNorms as standard <c>LayerNormalization</c> nodes
/// (<see cref="PrepareOptions.StandardOps"/>) against the same artifacts prepared without: the same loss, the same
/// gradient of every trainable and the same eval output, on a torch-style tiny encoder for every method and on MiniLM.
/// </summary>
[TestClass]
public sealed class StandardOpsArtifactTests
{
    const double Tolerance = 1e-5;
    static string _dir = null!;

    public static IEnumerable<object[]> Methods => AdapterMethods.Names.Select(n => new object[] { n });

    [ClassInitialize]
    public static void WriteTinyEncoder(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("vblora-standard-ops").FullName;
        TinyTransformer.Write(Path.Combine(_dir, "torch_style.onnx"), torchStyle: true);
    }

    [ClassCleanup]
    public static void DeleteArtifacts()
    {
        if (_dir is not null) Directory.Delete(_dir, recursive: true);
    }

    static (string Standard, string Decomposed) PrepareBoth(string model, Func<bool, string, PrepareOptions> options)
    {
        string standard = Path.Combine(_dir, Guid.NewGuid().ToString("N")), decomposed = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        ArtifactBuilder.Prepare(options(true, standard));
        ArtifactBuilder.Prepare(options(false, decomposed));
        return (standard, decomposed);
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void TinyEncoder_TrainingGraph_GivesTheSameLossAndGradients(string method)
    {
        var descriptor = AdapterMethods.Find(method);
        var (standard, decomposed) = PrepareBoth(Path.Combine(_dir, "torch_style.onnx"), (on, dir) => new PrepareOptions
        {
            ModelPath = Path.Combine(_dir, "torch_style.onnx"),
            OutputDirectory = dir,
            Method = descriptor.Create(MethodOptionValues.For(descriptor, MethodContractTests.Methods[method].TinyOptions), 42),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 2, Pooling = Pooling.Mean },
            StandardOps = on,
        });
        var (ids, mask, labels) = TinyTransformer.Batch(0);
        int[] tokens = [TinyTransformer.BatchSize, TinyTransformer.Sequence];
        var data = new Dictionary<string, object>
        {
            ["input_ids"] = new DenseTensor<long>(ids, tokens),
            ["attention_mask"] = new DenseTensor<long>(mask, tokens),
        };
        var training = OnnxModel.Load(Path.Combine(standard, ArtifactNames.TrainingModel));
        Assert.AreEqual(2, training.Graph.Node.Count(n => n.OpType == "LayerNormalization"), "both LayerNorms rewritten");
        Assert.IsFalse(training.Graph.Node.Any(n => n.OpType == "Pow"), "no decomposed LayerNorm left");

        AssertSameTraining(decomposed, standard, data, labels);
    }

    [TestMethod]
    public void MiniLm_TrainingAndEvalGraphs_GiveTheSameLossGradientsAndLogits()
    {
        var (standard, decomposed) = PrepareBoth(RealModel.ModelPath, (on, dir) => new PrepareOptions
        {
            ModelPath = RealModel.ModelPath,
            OutputDirectory = dir,
            Method = new VbLoraMethod(new VbLoraOptions { NumVectors = 16, VectorLength = 128, Rank = 4, TopK = 2 }),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 3, Pooling = Pooling.Mean },
            StandardOps = on,
        });
        var data = RealModel.Batch(RealModel.EightSentences[..4]);
        Assert.AreEqual(13, OnnxModel.Load(Path.Combine(standard, ArtifactNames.TrainingModel)).Graph.Node.Count(n => n.OpType == "LayerNormalization"));

        var manifest = AssertSameTraining(decomposed, standard, data, [0, 2, 1, 2]);

        var feeds = Feeds(manifest, data, [0, 2, 1, 2]);
        var expected = Run(Path.Combine(decomposed, ArtifactNames.EvalModel), feeds);
        var actual = Run(Path.Combine(standard, ArtifactNames.EvalModel), feeds);
        Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.RelativeError(expected[ArtifactNames.Logits], actual[ArtifactNames.Logits]), "logits");
    }

    static ArtifactManifest AssertSameTraining(string decomposed, string standard, IReadOnlyDictionary<string, object> data, long[] labels)
    {
        var manifest = ArtifactManifest.Load(Path.Combine(standard, ArtifactNames.Manifest));
        var feeds = Feeds(manifest, data, labels);
        var expected = Run(Path.Combine(decomposed, ArtifactNames.TrainingModel), feeds);
        var actual = Run(Path.Combine(standard, ArtifactNames.TrainingModel), feeds);

        Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.RelativeError(expected[ArtifactNames.Loss], actual[ArtifactNames.Loss]), "loss");
        foreach (var t in manifest.Trainables)
        {
            string grad = ArtifactNames.Grad(t.Name);
            Assert.IsTrue(expected[grad].Any(v => v != 0), $"{grad} is zero: the comparison would prove nothing");
            Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.RelativeError(expected[grad], actual[grad]), grad);
        }
        return manifest;
    }

    // The data, labels, and non-zero values for every trainable (so every adapter acts and every gradient flows).
    internal static List<NamedOnnxValue> Feeds(ArtifactManifest manifest, IReadOnlyDictionary<string, object> data, long[] labels)
    {
        var feeds = data.Select(kv => NamedOnnxValue.CreateFromTensor(kv.Key, (DenseTensor<long>)kv.Value)).ToList();
        feeds.Add(NamedOnnxValue.CreateFromTensor(manifest.LabelInputs.Single(), new DenseTensor<long>(labels, [labels.Length])));
        foreach (var t in manifest.Trainables)
        {
            float[] values = TinyModels.Random((int)t.ElementCount, t.Name.Length * 31 + (int)t.ElementCount, 0.3f);
            feeds.Add(NamedOnnxValue.CreateFromTensor(t.Name, new DenseTensor<float>(values, t.Shape.Select(d => (int)d).ToArray())));
        }
        return feeds;
    }

    internal static Dictionary<string, float[]> Run(string model, List<NamedOnnxValue> feeds)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 2 };
        using var session = new InferenceSession(model, options);
        using var results = session.Run(feeds.Where(f => session.InputMetadata.ContainsKey(f.Name)).ToList());
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }
}
