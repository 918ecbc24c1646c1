using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Contract;

/// <summary>
/// <c>train --head-only</c> for every registered method, on MiniLM (query,value, the method's demo configuration): the
/// adapter starts at its zero update and never moves; only the head trains.
/// </summary>
[TestClass]
public sealed class HeadOnlyContractTests
{
    public static IEnumerable<object[]> Registered => AdapterMethods.Names.Select(n => new object[] { n });

    [TestMethod]
    [DynamicData(nameof(Registered))]
    public void HeadOnly_ChangesOnlyTheHead_AndTheAdapterStaysAtItsZeroUpdate(string name)
    {
        var descriptor = AdapterMethods.Find(name);
        string artifacts = PreparedArtifacts.NewFolder("vblora-headonly");
        ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = RealModel.ModelPath,
            OutputDirectory = artifacts,
            Method = descriptor.Create(MethodOptionValues.For(descriptor, descriptor.Demo.Options), 42),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 2, Pooling = Pooling.Mean },
            VocabPath = RealModel.VocabPath,
            MaxLength = 16,
        });
        var folder = ArtifactFolder.Open(artifacts);
        var initial = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity).Tensors.ToDictionary(t => t.Name, t => t.Values);
        string run = Path.Combine(PreparedArtifacts.NewFolder("vblora-headonly-run"), "run");

        TrainingRun.Start(new TrainOptions
        {
            Artifacts = artifacts, TrainFile = PreparedArtifacts.SpamSample(8), Out = run, MaxSteps = 2, BatchSize = 4, Threads = 1, HeadOnly = true,
            LearningRates = new() { [ParameterGroups.Head] = 0.05f },
        }, new RecordingObserver());

        var trained = Checkpoint.Load(new RunFolder(run).CheckpointPath, folder.Identity).Tensors.ToDictionary(t => t.Name, t => t.Values);
        var zero = folder.Method.ZeroUpdate(folder.Plan, folder.Plan.Parameters.ToDictionary(p => p.Name, p => initial[p.Name]));
        foreach (var p in folder.Plan.Parameters)
            CollectionAssert.AreEqual(zero[p.Name], trained[p.Name], $"{name}: adapter tensor {p.Name} is its zero update, unchanged by training");
        foreach (var t in folder.Manifest.Trainables.Where(t => t.Group == ParameterGroups.Head))
            CollectionAssert.AreNotEqual(initial[t.Name], trained[t.Name], $"{name}: head tensor {t.Name} trained");
        Assert.IsTrue(folder.Method.ComputeFactors(folder.Plan, zero).All(f => f.DeltaOutIn().All(v => v == 0)), $"{name}: the encoder is the base model");
    }

    sealed class RecordingObserver : ITrainingObserver
    {
        public void Started(RunPlan plan) { }
        public void Stepped(StepReport report) => Assert.IsTrue(report.Applied, report.Rejection);
        public void Evaluated(int epoch, long step, EvalResult result) { }
        public void Message(string text) { }
    }
}
