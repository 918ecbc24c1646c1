namespace VbLoraOrt.Runtime.Training;

/// <summary>What one training step did.</summary>
/// <param name="Step">Optimizer steps applied after this one (unchanged when the step was rejected).</param>
/// <param name="Loss">Training loss of the batch, before the update.</param>
/// <param name="GradNorm">Global L2 norm of the gradients; NaN when the optimizer did not run.</param>
/// <param name="Applied">False when the numerical guard rejected the step; the state is then the last good one.</param>
/// <param name="Rejection">Why the step was rejected, for the log; null when applied.</param>
public sealed record StepResult(long Step, float Loss, float GradNorm, bool Applied, string? Rejection);
