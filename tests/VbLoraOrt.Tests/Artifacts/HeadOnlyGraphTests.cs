using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;
using VbLoraOrt.Tests.Contract;
using VbLoraOrt.Tests.OrtTraining;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Artifacts;

/// <summary>
/// The head-only training graph (<see cref="ArtifactNames.HeadOnlyTrainingModel"/>) against the full training graph:
/// the same loss and head gradients, no backward through the encoder, and a head-only run that trains as the full graph
/// at the adapter's learning rate 0 did (also the fallback for artifacts prepared without it).
/// </summary>
[TestClass]
public sealed class HeadOnlyGraphTests
{
    const double Tolerance = 1e-6;
    static string _dir = null!;

    public static IEnumerable<object[]> Methods => AdapterMethods.Names.Select(n => new object[] { n });

    [ClassInitialize]
    public static void WriteTinyEncoder(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("vblora-head-only").FullName;
        TinyTransformer.Write(Path.Combine(_dir, "torch_style.onnx"), torchStyle: true);
    }

    [ClassCleanup]
    public static void DeleteArtifacts()
    {
        if (_dir is not null) Directory.Delete(_dir, recursive: true);
    }

    static string PrepareTiny(string method, Pooling pooling)
    {
        var descriptor = AdapterMethods.Find(method);
        string dir = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = Path.Combine(_dir, "torch_style.onnx"),
            OutputDirectory = dir,
            Method = descriptor.Create(MethodOptionValues.For(descriptor, MethodContractTests.Methods[method].TinyOptions), 42),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 2, Pooling = pooling },
        });
        return dir;
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void TinyEncoder_HeadOnlyGraph_GivesTheFullGraphsLossAndHeadGradients(string method)
    {
        foreach (var pooling in new[] { Pooling.Mean, Pooling.Cls })
        {
            string dir = PrepareTiny(method, pooling);
            var manifest = ArtifactManifest.Load(Path.Combine(dir, ArtifactNames.Manifest));
            Assert.AreEqual(ArtifactNames.HeadOnlyTrainingModel, manifest.HeadOnlyTrainingModel);
            Assert.IsTrue(manifest.Files!.ContainsKey(ArtifactNames.HeadOnlyTrainingModel), "listed with its hash");
            var (ids, mask, labels) = TinyTransformer.Batch(1);
            int[] tokens = [TinyTransformer.BatchSize, TinyTransformer.Sequence];
            var data = new Dictionary<string, object>
            {
                ["input_ids"] = new DenseTensor<long>(ids, tokens),
                ["attention_mask"] = new DenseTensor<long>(mask, tokens),
            };
            var feeds = TrainingGraphComparison.Feeds(manifest, data, labels);
            var full = TrainingGraphComparison.Run(Path.Combine(dir, ArtifactNames.TrainingModel), feeds);
            var headOnly = TrainingGraphComparison.Run(Path.Combine(dir, ArtifactNames.HeadOnlyTrainingModel), feeds);

            Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.RelativeError(full[ArtifactNames.Loss], headOnly[ArtifactNames.Loss]), $"{method} {pooling}: loss");
            foreach (var t in manifest.Trainables)
            {
                string grad = ArtifactNames.Grad(t.Name);
                if (t.Group != ParameterGroups.Head)
                {
                    Assert.IsFalse(headOnly.ContainsKey(grad), $"{method}: the head-only graph gives the adapter's {t.Name} no gradient");
                    continue;
                }
                Assert.IsTrue(full[grad].Any(v => v != 0), $"{grad} is zero: the comparison would prove nothing");
                Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.RelativeError(full[grad], headOnly[grad]), $"{method} {pooling}: {grad}");
            }
        }
    }

    [TestMethod]
    public void TinyEncoder_HeadOnlyGraph_HasNoBackwardThroughTheEncoder()
    {
        string dir = PrepareTiny("vblora", Pooling.Mean);
        var manifest = ArtifactManifest.Load(Path.Combine(dir, ArtifactNames.Manifest));
        var graph = OnnxModel.Load(Path.Combine(dir, ArtifactNames.HeadOnlyTrainingModel)).Graph;
        var backward = graph.Node.Where(n => n.Name.StartsWith("grad/", StringComparison.Ordinal)).ToList();
        // Every value the encoder computes from the adapter (its parameters and everything downstream of them up to the
        // pooled states) is forward; a backward through it would read the adapter's parameters or their products.
        var adapter = manifest.Trainables.Where(t => t.Group != ParameterGroups.Head).Select(t => t.Name).ToHashSet();
        var encoderOps = new HashSet<string> { "Softmax", "LayerNormalization", "Gather", "Erf", "Pow", "Sqrt" };
        Assert.IsNotEmpty(backward, "the head's gradient needs a backward");
        Assert.IsFalse(backward.Any(n => n.Input.Any(adapter.Contains)), "no backward node reads an adapter tensor");
        var full = OnnxModel.Load(Path.Combine(dir, ArtifactNames.TrainingModel)).Graph.Node.Count(n => n.Name.StartsWith("grad/", StringComparison.Ordinal));
        Assert.IsLessThan(full / 4, backward.Count, $"head-only backward {backward.Count} nodes, full {full}");
    }

    // The same steps through Trainer: the full graph with the adapter's learning rate 0 (the way head-only ran before) and
    // the head-only graph with the adapter frozen end in the same parameters and head moments.
    [TestMethod]
    public void TinyEncoder_HeadOnlySteps_MatchTheFullGraphAtAdapterRateZero()
    {
        string dir = PrepareTiny("lora", Pooling.Mean);
        var folder = ArtifactManifest.Load(Path.Combine(dir, ArtifactNames.Manifest));
        var initial = Checkpoint.Load(Path.Combine(dir, ArtifactNames.InitialCheckpoint), folder.Identity);
        var adapter = folder.Trainables.Where(t => t.Group != ParameterGroups.Head).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var settings = folder.Trainables.Select(t => t.Group).Distinct()
            .ToDictionary(g => g, g => new GroupHyperparameters(g == ParameterGroups.Head ? 0.05f : 0f, 0.01f));

        IReadOnlyList<NamedTensor> Train(string graph, IReadOnlySet<string>? frozen)
        {
            using var device = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = 1 });
            using var state = TrainingState.Create(device, folder.Trainables, initial);
            using var trainer = Trainer.Create(state, Path.Combine(dir, graph), Path.Combine(dir, ArtifactNames.OptimizerModel), frozen);
            for (int i = 0; i < 3; i++)
            {
                var (ids, mask, labels) = TinyTransformer.Batch(i);
                long[] tokens = [TinyTransformer.BatchSize, TinyTransformer.Sequence];
                var result = trainer.Step([BatchTensor.Int64("input_ids", tokens, ids), BatchTensor.Int64("attention_mask", tokens, mask),
                    BatchTensor.Int64(ArtifactNames.Labels, [labels.Length], labels)], settings);
                Assert.IsTrue(result.Applied, result.Rejection);
            }
            return state.Download();
        }

        var before = Train(ArtifactNames.TrainingModel, frozen: null).ToDictionary(t => t.Name, t => t.Values);
        var after = Train(ArtifactNames.HeadOnlyTrainingModel, adapter).ToDictionary(t => t.Name, t => t.Values);

        foreach (var t in folder.Trainables)
        {
            if (adapter.Contains(t.Name))
            {
                CollectionAssert.AreEqual(initial.Find(t.Name)!.Values, after[t.Name], $"{t.Name}: frozen");
                continue;
            }
            CollectionAssert.AreNotEqual(initial.Find(t.Name)!.Values, before[t.Name], $"guard: head tensor {t.Name} trained");
            foreach (string name in new[] { t.Name, ArtifactNames.FirstMoment(t.Name), ArtifactNames.SecondMoment(t.Name) })
                Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.RelativeError(before[name], after[name]), name);
        }
    }

    [TestMethod]
    public void Trainer_RefusesALearningRateForAFrozenGroup()
    {
        string dir = PrepareTiny("lora", Pooling.Mean);
        var manifest = ArtifactManifest.Load(Path.Combine(dir, ArtifactNames.Manifest));
        var adapter = manifest.Trainables.Where(t => t.Group != ParameterGroups.Head).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        using var device = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = 1 });
        using var state = TrainingState.Create(device, manifest.Trainables, Checkpoint.Load(Path.Combine(dir, ArtifactNames.InitialCheckpoint), manifest.Identity));
        using var trainer = Trainer.Create(state, Path.Combine(dir, ArtifactNames.HeadOnlyTrainingModel), Path.Combine(dir, ArtifactNames.OptimizerModel), adapter);
        var (ids, mask, labels) = TinyTransformer.Batch(0);
        long[] tokens = [TinyTransformer.BatchSize, TinyTransformer.Sequence];
        var settings = manifest.Trainables.Select(t => t.Group).Distinct().ToDictionary(g => g, g => new GroupHyperparameters(0.01f, 0f));

        var e = Assert.ThrowsExactly<ArgumentException>(() => trainer.Step([BatchTensor.Int64("input_ids", tokens, ids),
            BatchTensor.Int64("attention_mask", tokens, mask), BatchTensor.Int64(ArtifactNames.Labels, [labels.Length], labels)], settings));
        StringAssert.Contains(e.Message, "frozen");
        Assert.AreEqual(0, state.Step);
    }

    // On MiniLM through `train --head-only`: artifacts with the head-only graph, and the same artifacts as an earlier
    // version wrote them (no head-only graph listed), which fall back to the full graph and say so; same checkpoints.
    [TestMethod]
    public void MiniLm_HeadOnlyRun_TrainsAsTheFallbackOnOldArtifacts()
    {
        string current = PreparedArtifacts.Classify;
        string old = Path.Combine(_dir, "old-artifacts");
        Directory.CreateDirectory(old);
        foreach (string file in Directory.GetFiles(current))
            File.Copy(file, Path.Combine(old, Path.GetFileName(file)));
        var manifest = ArtifactManifest.Load(Path.Combine(old, ArtifactNames.Manifest));
        File.Delete(Path.Combine(old, ArtifactNames.HeadOnlyTrainingModel));
        (manifest with
        {
            HeadOnlyTrainingModel = null,
            Files = manifest.Files!.Where(f => f.Key != ArtifactNames.HeadOnlyTrainingModel).ToDictionary(f => f.Key, f => f.Value),
        }).Save(Path.Combine(old, ArtifactNames.Manifest));
        string data = PreparedArtifacts.SpamSample(12);

        (Dictionary<string, float[]> Tensors, List<string> Messages) Run(string artifacts)
        {
            var observer = new Recorder();
            string run = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
            TrainingRun.Start(new TrainOptions
            {
                Artifacts = artifacts, TrainFile = data, Out = run, MaxSteps = 3, BatchSize = 4, MaxLength = 32, Threads = 1, HeadOnly = true,
                LearningRates = new() { [ParameterGroups.Head] = 0.05f },
            }, observer);
            var folder = ArtifactFolder.Open(artifacts);
            return (Checkpoint.Load(new RunFolder(run).CheckpointPath, folder.Identity).Tensors.ToDictionary(t => t.Name, t => t.Values), observer.Messages);
        }

        var (withGraph, quiet) = Run(current);
        var (fallback, messages) = Run(old);

        Assert.IsFalse(quiet.Any(m => m.Contains("head-only", StringComparison.Ordinal)), string.Join("\n", quiet));
        Assert.IsTrue(messages.Any(m => m.Contains("no head-only training graph", StringComparison.Ordinal)), "the fallback says so");
        var trainables = ArtifactManifest.Load(Path.Combine(current, ArtifactNames.Manifest)).Trainables;
        foreach (var t in trainables)
        {
            if (t.Group != ParameterGroups.Head)
            {
                CollectionAssert.AreEqual(fallback[t.Name], withGraph[t.Name], $"{t.Name}: the adapter stays at its zero update either way");
                continue;
            }
            foreach (string name in new[] { t.Name, ArtifactNames.FirstMoment(t.Name), ArtifactNames.SecondMoment(t.Name) })
                Assert.IsLessThanOrEqualTo(1e-5, OrtRunner.RelativeError(fallback[name], withGraph[name]), name);
        }
    }

    sealed class Recorder : ITrainingObserver
    {
        public List<string> Messages { get; } = [];
        public void Started(RunPlan plan) { }
        public void Stepped(StepReport report) => Assert.IsTrue(report.Applied, report.Rejection);
        public void Evaluated(int epoch, long step, EvalResult result) { }
        public void Message(string text) => Messages.Add(text);
    }
}
