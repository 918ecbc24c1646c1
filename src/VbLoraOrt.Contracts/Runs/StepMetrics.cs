using System.Text.Json.Serialization;

namespace VbLoraOrt.Contracts.Runs;

/// <summary>One line of <c>metrics.jsonl</c> per applied training step.</summary>
/// <param name="Step">Optimizer steps done after it (1-based).</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="Loss">Training loss of the batch.</param>
/// <param name="GradNorm">L2 norm over every gradient.</param>
/// <param name="LearningRateFactor">The schedule's multiplier of every group's learning rate.</param>
/// <param name="TokensPerSecond">Real (unpadded) tokens per second of the step.</param>
public sealed record StepMetrics(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("loss")] double Loss,
    [property: JsonPropertyName("grad_norm")] double GradNorm,
    [property: JsonPropertyName("lr_factor")] double LearningRateFactor,
    [property: JsonPropertyName("tokens_per_s")] double TokensPerSecond);
