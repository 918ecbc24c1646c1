namespace VbLoraOrt.Runtime.Runs;

/// <summary>Metrics of one pass over a dataset.</summary>
/// <param name="Count">Examples evaluated.</param>
/// <param name="Loss">Mean loss: cross-entropy (classify), MSE (regression) or in-batch contrastive loss (embed).</param>
/// <param name="Accuracy">Fraction of correct argmax predictions (classify) or of anchors whose own positive ranks first
/// in their batch (embed); null for regression.</param>
/// <param name="Outputs">Per example (file order), the task output row (logits or embedding), when asked for.</param>
public sealed record EvalResult(int Count, double Loss, double? Accuracy, float[][]? Outputs);
