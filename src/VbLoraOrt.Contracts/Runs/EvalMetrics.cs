using System.Text.Json.Serialization;

namespace VbLoraOrt.Contracts.Runs;

/// <summary>One line of <c>metrics.jsonl</c> per evaluation (after every epoch).</summary>
/// <param name="Step">Optimizer steps done when it ran.</param>
/// <param name="Epoch">0-based epoch it ended.</param>
/// <param name="EvalLoss">Mean loss over the evaluation data.</param>
/// <param name="EvalAccuracy">Accuracy (classification), null for regression and embeddings.</param>
public sealed record EvalMetrics(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("eval_loss")] double EvalLoss,
    [property: JsonPropertyName("eval_accuracy")] double? EvalAccuracy);
