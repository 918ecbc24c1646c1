using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Bench;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Pruning;

/// <summary>
/// The real export with CLS pooling, prepared with and without position pruning: the pruned training graph gives
/// the same loss and gradients as the whole one (itself checked against finite differences elsewhere) with fewer
/// FLOPs, and the pruned eval graph the same logits.
/// </summary>
[TestClass]
public sealed class MiniLmPositionPruningTests
{
    static string _pruned = null!, _whole = null!;
    static ArtifactManifest _manifest = null!;

    [ClassInitialize]
    public static void PrepareBoth(TestContext _)
    {
        _pruned = Prepare(prune: true);
        _whole = Prepare(prune: false);
        _manifest = ArtifactManifest.Load(Path.Combine(_pruned, ArtifactNames.Manifest));
    }

    static string Prepare(bool prune)
    {
        string dir = PreparedArtifacts.NewFolder(prune ? "vblora-pruned" : "vblora-whole");
        ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = RealModel.ModelPath,
            OutputDirectory = dir,
            Method = new VbLoraMethod(new VbLoraOptions { NumVectors = 16, VectorLength = 128, Rank = 4, TopK = 2 }),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 3, Pooling = Pooling.Cls },
            PrunePositions = prune,
        });
        return dir;
    }

    // Four sentences, labels, and trained-looking values for every trainable (non-zero bank, so adapters act).
    static List<NamedOnnxValue> Feeds()
    {
        var feeds = RealModel.Batch(RealModel.EightSentences[..4]);
        feeds[ArtifactNames.Labels] = new DenseTensor<long>(new long[] { 0, 2, 1, 2 }, [4]);
        foreach (var t in _manifest.Trainables)
        {
            var random = new Random(t.Name.Length * 31 + (int)t.ElementCount);
            float scale = t.Group switch { "bank" => 0.3f, "logits" => 2f, _ => 0.2f };
            var values = Enumerable.Range(0, (int)t.ElementCount).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
            feeds[t.Name] = new DenseTensor<float>(values, t.Shape.Select(d => (int)d).ToArray());
        }
        return feeds.Select(kv => kv.Value switch
        {
            DenseTensor<float> f => NamedOnnxValue.CreateFromTensor(kv.Key, f),
            DenseTensor<long> l => NamedOnnxValue.CreateFromTensor(kv.Key, l),
            _ => throw new InvalidOperationException(),
        }).ToList();
    }

    static Dictionary<string, float[]> Run(string folder, string model)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(Path.Combine(folder, model), options);
        using var results = session.Run(Feeds().Where(f => session.InputMetadata.ContainsKey(f.Name)).ToList());
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }

    [TestMethod]
    public void TrainingGraph_Pruned_GivesTheSameLossAndGradients()
    {
        var whole = Run(_whole, ArtifactNames.TrainingModel);
        var pruned = Run(_pruned, ArtifactNames.TrainingModel);

        Assert.AreEqual(whole[ArtifactNames.Loss][0], pruned[ArtifactNames.Loss][0], 1e-5);
        foreach (var t in _manifest.Trainables)
        {
            string grad = ArtifactNames.Grad(t.Name);
            Assert.IsTrue(whole[grad].Any(v => v != 0), $"{grad} is zero: the comparison would prove nothing");
            Assert.IsLessThanOrEqualTo(1e-4, OrtRunner.RelativeError(whole[grad], pruned[grad]), grad);
        }
    }

    [TestMethod]
    public void EvalGraph_Pruned_GivesTheSameLogits()
    {
        var whole = Run(_whole, ArtifactNames.EvalModel);
        var pruned = Run(_pruned, ArtifactNames.EvalModel);

        Assert.IsLessThanOrEqualTo(1e-5, OrtRunner.RelativeError(whole[ArtifactNames.Logits], pruned[ArtifactNames.Logits]));
    }

    [TestMethod]
    public void MergedExport_TaskOutputOnly_GivesTheSameLogitsWithFewerFlops()
    {
        var values = Feeds().Where(f => _manifest.Trainables.Any(t => t.Name == f.Name))
            .ToDictionary(f => f.Name, f => f.AsTensor<float>().ToArray());
        string whole = Path.Combine(PreparedArtifacts.NewFolder("vblora-merged-whole"), "model.onnx");
        string taskOnly = Path.Combine(PreparedArtifacts.NewFolder("vblora-merged-task"), "model.onnx");

        MergedModelExporter.Export(_pruned, _manifest, values, whole);
        MergedModelExporter.Export(_pruned, _manifest, values, taskOnly, taskOutputOnly: true);

        var inputs = RealModel.Batch(RealModel.EightSentences);
        var expected = OrtRunner.RunFile(whole, inputs, ArtifactNames.Logits)[ArtifactNames.Logits];
        var actual = OrtRunner.RunFile(taskOnly, inputs, ArtifactNames.Logits)[ArtifactNames.Logits];
        Assert.IsLessThanOrEqualTo(1e-5f, OrtRunner.MaxAbsDiff(expected, actual));
        var taskModel = OnnxModel.Load(taskOnly);
        CollectionAssert.AreEqual(new[] { ArtifactNames.Logits }, taskModel.Graph.Output.Select(o => o.Name).ToArray());
        var dims = new Dictionary<string, long> { ["batch"] = 16, ["sequence"] = 128 };
        Assert.IsLessThan(0.9 * MatMulFlops.Count(OnnxModel.Load(whole), dims).Flops, MatMulFlops.Count(taskModel, dims).Flops);
    }

    [TestMethod]
    public void TrainingGraph_Pruned_NeedsFewerFlops()
    {
        var dims = new Dictionary<string, long> { ["batch"] = 16, ["sequence"] = 128 };
        double whole = MatMulFlops.Count(OnnxModel.Load(Path.Combine(_whole, ArtifactNames.TrainingModel)), dims).Flops;
        double pruned = MatMulFlops.Count(OnnxModel.Load(Path.Combine(_pruned, ArtifactNames.TrainingModel)), dims).Flops;

        // The last of six layers keeps only its key and value projections (and attention) over all positions:
        // about 6.7 of its ~8 forward GFLOP and as much backward go, some 14% of the step.
        Assert.IsLessThan(0.9, pruned / whole, $"pruned {pruned / 1e9:F1} GFLOP vs whole {whole / 1e9:F1}");
    }
}
