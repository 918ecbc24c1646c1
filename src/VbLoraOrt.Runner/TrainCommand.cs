using System.CommandLine;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Sessions;

namespace VbLoraOrt.Runner;

/// <summary><c>vblora-run train --artifacts DIR --train FILE … --out RUN</c>, or <c>train --resume RUN</c>.</summary>
static class TrainCommand
{
    public static Command Create(TextWriter output, TextWriter error, CancellationToken cancel)
    {
        var o = new TrainOptionSet();
        var command = new Command("train", "Fine-tune: train the adapter (and head) on a data file, evaluating and checkpointing as it goes.");
        o.AddTo(command);
        command.SetAction(result => CommandGuard.Run(RunnerCli.Name, () =>
        {
            string? resume = result.GetValue(o.Resume);
            if (resume != null && result.GetValue(o.FromOrtCheckpoint) != null)
                throw new UsageException("--from-ort-checkpoint starts a new run; it cannot be combined with --resume");
            if (result.GetValue(o.FromOrtCheckpoint) != null && result.GetValue(o.InitFromPeft) != null)
                throw new UsageException("give --from-ort-checkpoint or --init-from-peft, not both: each is the state the run starts from");
            var extension = resume != null ? o.ReadExtension(result, command) : null;
            var summary = ConsoleObserver.Run(output, observer => resume != null
                ? TrainingRun.Resume(resume, observer, cancel, extension)
                : result.GetValue(o.FromOrtCheckpoint) is { } ortCheckpoint
                    ? OrtCheckpointRuns.Start(o.Read(result), ortCheckpoint, observer, cancel, result.GetValue(o.Overwrite))
                    : result.GetValue(o.InitFromPeft) is { } peftDir
                        ? PeftRuns.Start(o.Read(result), peftDir, observer, cancel, result.GetValue(o.Overwrite))
                        : TrainingRun.Start(o.Read(result), observer, cancel, result.GetValue(o.Overwrite)));
            var run = new RunFolder(resume ?? result.GetValue(o.Out)!);
            LossCurve.Write(run);
            output.WriteLine($"{(summary.Cancelled ? "stopped" : "done")} at step {summary.Steps}; checkpoint {summary.Checkpoint}; metrics {run.MetricsPath}; loss curve {run.PlotPath}");
            return summary.Cancelled ? ExitCodes.Cancelled : ExitCodes.Ok;
        }, error));
        return command;
    }
}

/// <summary>The options of <c>train</c> (also used by <c>demo</c>) and their mapping to <see cref="TrainOptions"/>.</summary>
sealed class TrainOptionSet
{
    public Option<string?> Artifacts { get; } = new("--artifacts") { Description = "Artifact folder written by `vblora-graph prepare`. Required unless --resume." };
    public Option<string?> Train { get; } = new("--train") { Description = "Training data: JSONL, CSV or TSV (text[, text_pair], label; or anchor, positive). Required unless --resume." };
    public Option<string?> Eval { get; } = new("--eval") { Description = "Evaluation data, evaluated after every epoch." };
    public Option<string?> Out { get; } = new("--out") { Description = "Run folder for checkpoints, metrics.jsonl and loss.png. Required unless --resume." };
    public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "Replace the run already in --out (its run.json, checkpoint, metrics, labels and loss curve; nothing else)." };
    public Option<string?> FromOrtCheckpoint { get; } = new("--from-ort-checkpoint") { Description = "Start from an ONNX Runtime training checkpoint of these artifacts (parameters, AdamW moments, step) instead of their initial state." };
    public Option<string?> InitFromPeft { get; } = new("--init-from-peft") { Description = "Start from the values of a PEFT adapter directory (adapter and, when it has one, the classifier head) instead of the artifacts' initial state; it must fit the artifacts' method, options, targets and task." };
    public Option<string?> Resume { get; } = new("--resume") { Description = "Continue the run in this folder from its last complete checkpoint." };
    public Option<int> Epochs { get; } = new("--epochs") { DefaultValueFactory = _ => 1, Description = "Epochs." };
    public Option<long?> MaxSteps { get; } = new("--max-steps") { Description = "Stop after this many optimizer steps, at least 1 (overrides --epochs)." };
    public Option<int> BatchSize { get; } = new("--batch-size") { DefaultValueFactory = _ => 16, Description = "Examples per batch." };
    public Option<int> MaxLength { get; } = new("--max-length") { Description = "Maximum tokens per sequence (default: the artifacts')." };
    public LearningRateOptions LearningRates { get; } = new();
    public Option<float> WeightDecay { get; } = new("--weight-decay") { DefaultValueFactory = _ => 0f, Description = "Decoupled weight decay." };
    public Option<long> Warmup { get; } = new("--warmup") { DefaultValueFactory = _ => 0L, Description = "Linear warm-up steps (then linear decay to 0)." };
    public Option<int> Seed { get; } = new("--seed") { DefaultValueFactory = _ => 42, Description = "Seed of the data order." };
    public Option<string> Device { get; } = new("--device") { DefaultValueFactory = _ => "cpu", Description = "cpu or cuda." };
    public Option<int> Threads { get; } = new("--threads") { Description = "Intra-op threads (0: ONNX Runtime's default)." };
    public Option<long> CheckpointEvery { get; } = new("--checkpoint-every") { DefaultValueFactory = _ => 50, Description = "Checkpoint every N steps (and at the end)." };
    public Option<bool> SkipBadRows { get; } = new("--skip-bad-rows") { Description = "Skip and count bad data rows instead of stopping." };
    public Option<NonFiniteAction> OnNonFinite { get; } = new("--on-non-finite") { DefaultValueFactory = _ => NonFiniteAction.Stop, Description = "stop or skip when a loss or gradient is not finite." };
    public Option<bool> HeadOnly { get; } = new("--head-only") { Description = "Baseline: the adapter starts at its zero update (it adds nothing) and stays frozen; only the head trains." };
    public Option<PaddingMode> Padding { get; } = new("--padding") { DefaultValueFactory = _ => PaddingMode.Longest, Description = "longest (bucketed) or maxlength." };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Artifacts, Train, Eval, Out, Overwrite, FromOrtCheckpoint, InitFromPeft, Resume, Epochs, MaxSteps, BatchSize, MaxLength })
            command.Options.Add(option);
        LearningRates.AddTo(command);
        foreach (Option option in new Option[] { WeightDecay, Warmup, Seed, Device, Threads, CheckpointEvery, SkipBadRows, OnNonFinite, HeadOnly, Padding })
            command.Options.Add(option);
    }

    /// <summary>
    /// What <c>--resume</c> takes besides the run folder: a new total of steps or epochs. Every other option would
    /// change the run it continues, so one given on the command line is refused rather than ignored.
    /// </summary>
    /// <exception cref="UsageException">An option other than --max-steps and --epochs was given.</exception>
    public RunExtension? ReadExtension(ParseResult r, Command command)
    {
        var given = command.Options.Where(option => option != Resume && r.GetResult(option) is { Implicit: false }).ToList();
        var refused = given.Where(option => option != MaxSteps && option != Epochs).Select(option => option.Name).ToList();
        if (refused.Count > 0)
            throw new UsageException(
                $"{string.Join(", ", refused)}: a resumed run keeps the options it started with (its run.json); with --resume only --max-steps and --epochs " +
                "(to train it further) are taken. Start a new run with --out to change the others.");
        return given.Count == 0 ? null : new RunExtension(r.GetValue(MaxSteps), given.Contains(Epochs) ? r.GetValue(Epochs) : null);
    }

    public TrainOptions Read(ParseResult r) => new()
    {
        Artifacts = r.GetValue(Artifacts) ?? throw new UsageException("--artifacts is required (or --resume RUN)"),
        TrainFile = r.GetValue(Train) ?? throw new UsageException("--train is required (or --resume RUN)"),
        EvalFile = r.GetValue(Eval),
        Out = r.GetValue(Out) ?? throw new UsageException("--out is required (or --resume RUN)"),
        Epochs = r.GetValue(Epochs),
        MaxSteps = r.GetValue(MaxSteps),
        BatchSize = r.GetValue(BatchSize),
        MaxLength = r.GetValue(MaxLength),
        LearningRates = LearningRates.Read(r),
        WeightDecay = r.GetValue(WeightDecay),
        WarmupSteps = r.GetValue(Warmup),
        Seed = r.GetValue(Seed),
        Device = DeviceOptions.ParseDevice(r.GetValue(Device)!),
        Threads = r.GetValue(Threads),
        CheckpointEvery = r.GetValue(CheckpointEvery),
        SkipBadRows = r.GetValue(SkipBadRows),
        OnNonFinite = r.GetValue(OnNonFinite),
        HeadOnly = r.GetValue(HeadOnly),
        Padding = r.GetValue(Padding),
    };
}
