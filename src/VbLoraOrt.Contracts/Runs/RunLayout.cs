using VbLoraOrt.Contracts.Checkpoints;

namespace VbLoraOrt.Contracts.Runs;

/// <summary>The files of a run folder written by <c>vblora-run train</c> (DESIGN.md §3.5), named in one place.</summary>
public static class RunLayout
{
    /// <summary>The run's options, with every group's resolved learning rate (JSON).</summary>
    public const string Options = "run.json";

    /// <summary>The latest complete checkpoint.</summary>
    public const string Checkpoint = "checkpoint.ckpt";

    /// <summary>One JSON object per applied step (<see cref="StepMetrics"/>) and per evaluation (<see cref="EvalMetrics"/>).</summary>
    public const string Metrics = "metrics.jsonl";

    /// <summary>Class names of the training data in id order, when it named its classes (JSON array).</summary>
    public const string Labels = "labels.json";

    /// <summary>The loss curve.</summary>
    public const string Plot = "loss.png";

    /// <summary>Every file a run writes, for clean-up of interrupted writes and for refusing to overwrite a run.</summary>
    public static IReadOnlyList<string> All { get; } = [Options, Checkpoint, Metrics, Labels, Plot];
}
