using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>Receives a training run's progress (the runner shows it; tests record it).</summary>
public interface ITrainingObserver
{
    /// <summary>The run is about to take its first step.</summary>
    void Started(RunPlan plan);

    /// <summary>A step ran (applied or rejected by the numerical guard).</summary>
    void Stepped(StepReport report);

    /// <summary>An evaluation finished.</summary>
    void Evaluated(int epoch, long step, EvalResult result);

    /// <summary>A line worth telling the user.</summary>
    void Message(string text);
}

/// <summary>What a run will do.</summary>
/// <param name="Examples">Training examples.</param>
/// <param name="BatchesPerEpoch">Batches per epoch.</param>
/// <param name="TotalSteps">Optimizer steps the run ends at.</param>
/// <param name="StartStep">Steps already done (resume).</param>
/// <param name="SkippedRows">Bad data rows skipped.</param>
public sealed record RunPlan(int Examples, int BatchesPerEpoch, long TotalSteps, long StartStep, int SkippedRows);

/// <summary>One step's outcome.</summary>
/// <param name="Step">Optimizer steps done after it.</param>
/// <param name="TotalSteps">Steps the run ends at.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Loss">Training loss of the batch.</param>
/// <param name="LearningRateFactor">Schedule multiplier applied.</param>
/// <param name="TokensPerSecond">Real (unpadded) tokens per second of this step.</param>
/// <param name="Applied">False when the numerical guard rejected the step.</param>
/// <param name="Rejection">Why it was rejected.</param>
public sealed record StepReport(long Step, long TotalSteps, int Epoch, float Loss, double LearningRateFactor,
    double TokensPerSecond, bool Applied, string? Rejection);

/// <summary>How a run ended.</summary>
/// <param name="Steps">Optimizer steps done.</param>
/// <param name="FinalEval">Last evaluation, if any.</param>
/// <param name="Checkpoint">The final checkpoint.</param>
/// <param name="RejectedSteps">Steps the guard rejected (and skipped).</param>
/// <param name="Cancelled">Stopped by cancellation after saving.</param>
/// <param name="ClassNames">Class names of the training data, in id order (null for integer labels).</param>
public sealed record TrainSummary(long Steps, EvalResult? FinalEval, string Checkpoint, int RejectedSteps, bool Cancelled,
    IReadOnlyList<string>? ClassNames);

/// <summary>The numerical guard stopped a run; the saved checkpoint holds the last finite state.</summary>
public sealed class NonFiniteStepException(string message) : VbLoraOrt.Onnx.BadInputException(message);
