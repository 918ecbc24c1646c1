using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Runs;

[TestClass]
public sealed class TrainingRunTests
{
    sealed class Recorder : ITrainingObserver
    {
        public List<StepReport> Steps { get; } = [];
        public List<EvalResult> Evals { get; } = [];
        public Action<StepReport>? OnStep { get; init; }
        public void Started(RunPlan plan) { }
        public void Stepped(StepReport report) { Steps.Add(report); OnStep?.Invoke(report); }
        public void Evaluated(int epoch, long step, EvalResult result) => Evals.Add(result);
        public void Message(string text) { }
    }

    static TrainOptions Options(string artifacts, string train, string outDir, long steps, string? eval = null,
        ExecutionDevice device = ExecutionDevice.Cpu, Dictionary<string, float>? rates = null) => new()
    {
        Device = device,
        LearningRates = rates ?? new TrainOptions { Artifacts = "", TrainFile = "", Out = "" }.LearningRates,
        Artifacts = artifacts,
        TrainFile = train,
        EvalFile = eval,
        Out = outDir,
        MaxSteps = steps,
        BatchSize = 4,
        MaxLength = 32,
        CheckpointEvery = 3,
        WarmupSteps = 2,
        Threads = 1,
    };

    static IReadOnlyList<NamedTensor> Parameters(string runDir, string artifacts) =>
        Checkpoint.Load(new RunFolder(runDir).CheckpointPath, ArtifactFolder.Open(artifacts).Identity).Tensors;

    [TestMethod]
    public void Resume_AfterStopAtHalf_EndsWithIdenticalParameters()
    {
        string data = PreparedArtifacts.SpamSample(40);
        string straight = PreparedArtifacts.NewFolder("vblora-run"), split = PreparedArtifacts.NewFolder("vblora-run");

        TrainingRun.Start(Options(PreparedArtifacts.Classify, data, straight, 14), new Recorder());
        using var stop = new CancellationTokenSource();
        var first = TrainingRun.Start(Options(PreparedArtifacts.Classify, data, split, 14), new Recorder { OnStep = s => { if (s.Step == 7) stop.Cancel(); } }, stop.Token);
        var second = TrainingRun.Resume(split, new Recorder());

        Assert.IsTrue(first.Cancelled);
        Assert.AreEqual(7, first.Steps);
        Assert.AreEqual(14, second.Steps);
        var expected = Parameters(straight, PreparedArtifacts.Classify);
        var actual = Parameters(split, PreparedArtifacts.Classify);
        Assert.AreEqual(expected.Count, actual.Count);
        foreach (var (e, a) in expected.Zip(actual))
            CollectionAssert.AreEqual(e.Values, a.Values, $"{e.Name} differs after resume");
    }

    [TestMethod]
    public void Train_OnSpamSample_LowersLossAndEvaluates()
    {
        string data = PreparedArtifacts.SpamSample(48);
        var recorder = new Recorder();
        var before = ArtifactHashes();

        var summary = TrainingRun.Start(Options(PreparedArtifacts.Classify, data, PreparedArtifacts.NewFolder("vblora-run"), 24, eval: data), recorder);

        double first = recorder.Steps.Take(4).Average(s => s.Loss), last = recorder.Steps.TakeLast(4).Average(s => s.Loss);
        Assert.IsTrue(last < first, $"loss did not decrease: first steps {first:F4}, last steps {last:F4}");
        Assert.IsNotNull(summary.FinalEval);
        Assert.AreEqual(48, summary.FinalEval.Count);
        Assert.IsTrue(File.Exists(new RunFolder(Path.GetDirectoryName(summary.Checkpoint)!).MetricsPath));
        CollectionAssert.AreEquivalent(before, ArtifactHashes(), "training never rewrites the artifacts (frozen weights, graphs, initial checkpoint)");
    }

    static List<string> ArtifactHashes() =>
        Directory.GetFiles(PreparedArtifacts.Classify).Select(f => $"{Path.GetFileName(f)}:{Hashing.Sha256File(f)}").ToList();

    [TestMethod]
    public void Train_EmbedTaskOnPairs_LossDecreases()
    {
        string dir = PreparedArtifacts.NewFolder("vblora-pairs");
        string pairs = Path.Combine(dir, "pairs.jsonl");
        string[] topics = ["the cat sat on the mat", "stock prices fell sharply today", "the recipe needs two eggs", "the team won the final match",
                           "rain is expected this weekend", "the new phone has a larger screen", "he plays the violin every evening", "the museum opens at nine"];
        File.WriteAllLines(pairs, Enumerable.Range(0, 32).Select(i =>
            $"{{\"anchor\":\"{topics[i % 8]} ({i})\",\"positive\":\"about: {topics[i % 8]}\"}}"));
        var recorder = new Recorder();

        TrainingRun.Start(Options(PreparedArtifacts.Embed, pairs, Path.Combine(dir, "run"), 16, rates: new() { ["bank"] = 5e-3f, ["logits"] = 5e-2f }), recorder);

        double first = recorder.Steps.Take(4).Average(s => s.Loss), last = recorder.Steps.TakeLast(4).Average(s => s.Loss);
        Assert.IsTrue(last < first, $"embed loss did not decrease: {first:F4} → {last:F4}");
    }

    [TestMethod]
    public void Train_WhenRowIsBrokenJson_FailsNamingFileAndLine()
    {
        string data = PreparedArtifacts.SpamSample(6);
        var lines = File.ReadAllLines(data).ToList();
        lines.Insert(3, "{\"text\": \"unterminated");
        File.WriteAllLines(data, lines);

        var e = Assert.ThrowsExactly<VbLoraOrt.Runtime.Data.DataFileException>(() =>
            TrainingRun.Start(Options(PreparedArtifacts.Classify, data, PreparedArtifacts.NewFolder("vblora-run"), 2), new Recorder()));
        StringAssert.Contains(e.Message, $"{data}:4:");
    }

    [TestMethod]
    public void Resume_WithCheckpointOfOtherArtifacts_IsRefusedNamingMismatch()
    {
        string data = PreparedArtifacts.SpamSample(8);
        string run = PreparedArtifacts.NewFolder("vblora-run");
        TrainingRun.Start(Options(PreparedArtifacts.Classify, data, run, 1), new Recorder());
        File.Copy(Path.Combine(PreparedArtifacts.Embed, "initial.ckpt"), new RunFolder(run).CheckpointPath, overwrite: true);

        var e = Assert.ThrowsExactly<CheckpointException>(() => TrainingRun.Resume(run, new Recorder()));
        StringAssert.Contains(e.Message, "belongs to artifacts");
    }

    [TestMethod]
    public void Train_OnCudaWithoutGpu_FailsWithClearMessage()
    {
        if (Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
            Assert.Inconclusive("this build has the CUDA provider");
        string data = PreparedArtifacts.SpamSample(8);

        var e = Assert.ThrowsExactly<DeviceUnavailableException>(() => TrainingRun.Start(
            Options(PreparedArtifacts.Classify, data, PreparedArtifacts.NewFolder("vblora-run"), 1, device: ExecutionDevice.Cuda), new Recorder()));
        StringAssert.Contains(e.Message, "--device cpu");
    }
}
