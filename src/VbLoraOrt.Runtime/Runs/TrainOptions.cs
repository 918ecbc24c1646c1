using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Sessions;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>What to do when a step's loss or gradient is not finite.</summary>
public enum NonFiniteAction
{
    /// <summary>Stop the run; the saved state is the last finite one.</summary>
    Stop,

    /// <summary>Skip the batch and go on (counted and reported).</summary>
    Skip,
}

/// <summary>Options of <c>vblora-run train</c>; saved as <c>run.json</c> in the run folder so <c>--resume</c> continues alike.</summary>
public sealed record TrainOptions
{
    /// <summary>Artifact folder from <c>vblora-graph prepare</c>.</summary>
    public required string Artifacts { get; init; }

    /// <summary>Training data (JSONL, CSV or TSV).</summary>
    public required string TrainFile { get; init; }

    /// <summary>Evaluation data, evaluated after every epoch and at the end; optional.</summary>
    public string? EvalFile { get; init; }

    /// <summary>Run folder (checkpoints, metrics, plot).</summary>
    public required string Out { get; init; }

    /// <summary>Epochs. Default 1.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Stop after this many optimizer steps in total (at least 1); null runs all <see cref="Epochs"/>. Default null.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Examples per batch (pairs for embed). Default 16.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Maximum tokens per sequence; 0 = the manifest's. Default 0.</summary>
    public int MaxLength { get; init; }

    /// <summary>Pad to the batch's longest sequence (default) or always to the maximum length.</summary>
    public PaddingMode Padding { get; init; } = PaddingMode.Longest;

    /// <summary>
    /// Learning rate per parameter group. Groups not listed take their method's default
    /// (<see cref="TrainingRun.ResolveLearningRates"/>); <c>run.json</c> records the resolved rate of every group.
    /// </summary>
    public Dictionary<string, float> LearningRates { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Decoupled weight decay of every group. Default 0.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Linear warm-up steps; the rate then decays linearly to 0 at the last step. Default 0.</summary>
    public long WarmupSteps { get; init; }

    /// <summary>Seed of the data order. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Execution device. Default CPU.</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>Intra-op threads (0 = ORT default). Default 0.</summary>
    public int Threads { get; init; }

    /// <summary>Write a checkpoint every this many steps (and always at the end). Default 50.</summary>
    public long CheckpointEvery { get; init; } = 50;

    /// <summary>Skip and count bad data rows instead of stopping at the first. Default false.</summary>
    public bool SkipBadRows { get; init; }

    /// <summary>What to do with a non-finite loss or gradient. Default stop.</summary>
    public NonFiniteAction OnNonFinite { get; init; } = NonFiniteAction.Stop;

    /// <summary>Start with a zero vector bank and never update the adapter (head-only baseline). Default false.</summary>
    public bool HeadOnly { get; init; }

    /// <summary>Throws naming the first invalid option as the command line spells it.</summary>
    /// <exception cref="UsageException">An option is out of range.</exception>
    public void Validate()
    {
        AtLeast(Epochs, 1, "--epochs");
        if (MaxSteps is < 1)
            throw new UsageException($"--max-steps must be at least 1, not {MaxSteps}; leave it out to run --epochs.");
        AtLeast(BatchSize, 1, "--batch-size");
        AtLeast(MaxLength, 0, "--max-length");
        AtLeast(WarmupSteps, 0, "--warmup");
        AtLeast(CheckpointEvery, 1, "--checkpoint-every");
        foreach (var (group, rate) in LearningRates)
            if (!(rate >= 0) || float.IsInfinity(rate))
                throw new UsageException($"--lr {group}={rate}: learning rates must be finite and ≥ 0.");
        if (!(WeightDecay >= 0) || float.IsInfinity(WeightDecay))
            throw new UsageException($"--weight-decay {WeightDecay}: must be finite and ≥ 0.");
        if (Out != null && Artifacts != null && OutputPaths.SameFile(Out.TrimEnd('/', '\\'), Artifacts.TrimEnd('/', '\\')))
            throw new UsageException($"--out {Out}: is the artifact folder the run reads (--artifacts); give the run a folder of its own.");
    }

    static void AtLeast(long value, long minimum, string option)
    {
        if (value < minimum)
            throw new UsageException($"{option} must be at least {minimum}, not {value}.");
    }

    /// <summary>
    /// A copy with the paths made absolute (against the current directory), as <c>run.json</c> stores them: the run's
    /// later commands (<c>--resume</c>, <c>export --run</c>, <c>eval --run</c>) then work from any directory.
    /// </summary>
    public TrainOptions WithAbsolutePaths() => this with
    {
        Artifacts = Path.GetFullPath(Artifacts),
        TrainFile = Path.GetFullPath(TrainFile),
        EvalFile = EvalFile == null ? null : Path.GetFullPath(EvalFile),
        Out = Path.GetFullPath(Out),
    };

    /// <summary>A copy with <paramref name="rates"/> as the learning rates.</summary>
    public TrainOptions WithLearningRates(Dictionary<string, float> rates) => this with { LearningRates = rates };
}
