using System.Globalization;
using System.Text.RegularExpressions;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runner;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// The numerical guard of a whole run: a learning rate of 1e30 makes step 1's AdamW update (≈ lr · sign g) blow the
/// parameters up, so the loss of the next batch is not finite. That step must not be applied, the run must say which
/// step and batch, and the saved checkpoint must be the last finite state.
/// </summary>
[TestClass]
public sealed partial class NumericalGuardTests
{
    const float DivergentRate = 1e30f;

    sealed class Recorder : ITrainingObserver
    {
        public List<StepReport> Steps { get; } = [];
        public Action<StepReport>? OnStep { get; init; }
        public void Started(RunPlan plan) { }
        public void Stepped(StepReport report) { Steps.Add(report); OnStep?.Invoke(report); }
        public void Evaluated(int epoch, long step, EvalResult result) { }
        public void Message(string text) { }
    }

    static TrainOptions Options(string data, string outDir, NonFiniteAction action) => new()
    {
        Artifacts = PreparedArtifacts.Classify,
        TrainFile = data,
        Out = outDir,
        MaxSteps = 20,
        BatchSize = 2,
        MaxLength = 16,
        CheckpointEvery = 100,
        Threads = 1,
        OnNonFinite = action,
        LearningRates = new() { [VbLoraNames.BankGroup] = DivergentRate, [VbLoraNames.LogitsGroup] = DivergentRate, [ParameterGroups.Head] = DivergentRate },
    };

    static string[] CliArgs(string data, string outDir, string action) =>
    [
        "train", "--artifacts", PreparedArtifacts.Classify, "--train", data, "--out", outDir, "--max-steps", "20", "--batch-size", "2",
        "--max-length", "16", "--checkpoint-every", "100", "--threads", "1", "--on-non-finite", action,
        "--lr-bank", "1e30", "--lr-logits", "1e30", "--lr-head", "1e30",
    ];

    static Checkpoint Saved(string run) =>
        Checkpoint.Load(new RunFolder(run).CheckpointPath, ArtifactFolder.Open(PreparedArtifacts.Classify).Identity);

    [TestMethod]
    public void Train_WhenLearningRateDiverges_RejectsTheFirstNonFiniteStepAndSavesTheLastFiniteState()
    {
        string data = PreparedArtifacts.SpamSample(8);
        string diverged = PreparedArtifacts.NewFolder("vblora-guard"), reference = PreparedArtifacts.NewFolder("vblora-guard-ref");
        var recorder = new Recorder();

        var e = Assert.ThrowsExactly<NonFiniteStepException>(() => TrainingRun.Start(Options(data, diverged, NonFiniteAction.Stop), recorder));

        var applied = recorder.Steps.TakeWhile(s => s.Applied).ToList();
        Assert.IsNotEmpty(applied, "step 1 starts from finite parameters and is applied");
        Assert.HasCount(applied.Count + 1, recorder.Steps, "the run stops at the first rejected step");
        Assert.IsTrue(applied.All(s => float.IsFinite(s.Loss)), "no step with a non-finite loss was applied");
        var rejected = recorder.Steps[^1];
        Assert.IsTrue(!float.IsFinite(rejected.Loss) || rejected.Rejection!.Contains("gradient is not finite"), rejected.Rejection);
        var saved = Saved(diverged);
        Assert.AreEqual(applied.Count, saved.Step);
        StringAssert.Contains(e.Message, $"(step {saved.Step})");
        Assert.IsTrue(saved.Tensors.All(t => t.Values.All(float.IsFinite)), "the saved state is finite");

        // The same run stopped (Ctrl+C) right after the last applied step holds exactly that state.
        using var stop = new CancellationTokenSource();
        TrainingRun.Start(Options(data, reference, NonFiniteAction.Stop), new Recorder { OnStep = s => { if (s.Step == applied.Count) stop.Cancel(); } }, stop.Token);
        var expected = Saved(reference);
        Assert.AreEqual(expected.Position, saved.Position, "the rejected batch is the next one to draw");
        foreach (var (x, y) in expected.Tensors.Zip(saved.Tensors))
            CollectionAssert.AreEqual(x.Values, y.Values, $"{x.Name} is not the last finite state");
    }

    [TestMethod]
    public void TrainCli_OnNonFiniteStop_ExitsBadInputNamingStepAndBatch()
    {
        string data = PreparedArtifacts.SpamSample(8), run = PreparedArtifacts.NewFolder("vblora-guard-cli");
        var (output, error) = (new StringWriter(), new StringWriter());

        int code = RunnerCli.Run(CliArgs(data, run, "stop"), output, error);

        Assert.AreEqual(ExitCodes.BadInput, code, $"{output}{error}");
        var message = GuardMessage().Match(error.ToString());
        Assert.IsTrue(message.Success, error.ToString());
        Assert.AreEqual(long.Parse(message.Groups["step"].Value, CultureInfo.InvariantCulture), Saved(run).Step);
        StringAssert.Contains(error.ToString(), "--on-non-finite skip");
        Assert.AreEqual(1, error.ToString().Trim().Split('\n').Length, "a user error is one line");
    }

    [TestMethod]
    public void TrainCli_OnNonFiniteSkip_SkipsBatchesKeepingStateThenGivesUpAfterAWholeEpoch()
    {
        string data = PreparedArtifacts.SpamSample(8), skipped = PreparedArtifacts.NewFolder("vblora-guard-skip"), stopped = PreparedArtifacts.NewFolder("vblora-guard-stop");
        var (output, error) = (new StringWriter(), new StringWriter());
        RunnerCli.Run(CliArgs(data, stopped, "stop"), new StringWriter(), new StringWriter());

        int code = RunnerCli.Run(CliArgs(data, skipped, "skip"), output, error);

        Assert.AreEqual(ExitCodes.BadInput, code, $"{output}{error}");
        int batchesPerEpoch = 8 / 2;
        Assert.AreEqual(batchesPerEpoch, SkippedBatch().Count(output.ToString()), output.ToString());
        StringAssert.Contains(error.ToString(), "a whole epoch");
        var (kept, last) = (Saved(skipped), Saved(stopped));
        Assert.AreEqual(last.Step, kept.Step, "skipped batches do not count as steps");
        foreach (var (x, y) in last.Tensors.Zip(kept.Tensors))
            CollectionAssert.AreEqual(x.Values, y.Values, $"{x.Name} changed while batches were skipped");
    }

    [GeneratedRegex(@"Batch \d+ of epoch \d+ .*holds the last finite state \(step (?<step>\d+)\)")]
    private static partial Regex GuardMessage();

    [GeneratedRegex("skipped batch")]
    private static partial Regex SkippedBatch();
}
