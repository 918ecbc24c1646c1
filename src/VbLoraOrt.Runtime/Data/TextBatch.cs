namespace VbLoraOrt.Runtime.Data;

/// <summary>A classification or regression batch.</summary>
/// <param name="Tokens">Model inputs.</param>
/// <param name="ClassLabels">Class id per row (int64 <c>[BatchSize]</c>); null for regression.</param>
/// <param name="Targets">Regression target per row (float <c>[BatchSize]</c>); null for classification.</param>
/// <param name="Examples">Index of each row in the dataset.</param>
public sealed record TextBatch(TokenBatch Tokens, long[]? ClassLabels, float[]? Targets, int[] Examples);

/// <summary>An embedding batch: row i of <paramref name="Anchors"/> and of <paramref name="Positives"/> are one example.</summary>
/// <param name="Anchors">Model inputs of the anchors.</param>
/// <param name="Positives">Model inputs of the positives.</param>
/// <param name="Examples">Index of each row in the dataset.</param>
public sealed record PairBatch(TokenBatch Anchors, TokenBatch Positives, int[] Examples);
