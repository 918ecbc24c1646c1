using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>Turns token batches into the graph inputs a manifest names.</summary>
public static class BatchFeeds
{
    /// <summary>Data inputs (and labels when present) of a classification/regression batch.</summary>
    public static IReadOnlyList<BatchTensor> ForText(TextBatch batch, IReadOnlyList<string> dataInputs, bool withLabels)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var feeds = Tokens(batch.Tokens, dataInputs);
        if (!withLabels)
            return feeds;
        long[] shape = [batch.Tokens.BatchSize];
        feeds.Add(batch.ClassLabels != null
            ? BatchTensor.Int64(ArtifactNames.Labels, shape, batch.ClassLabels)
            : BatchTensor.Float(ArtifactNames.Labels, shape, batch.Targets!));
        return feeds;
    }

    /// <summary>An embedding batch as one batch of rows: anchors, then positives (the layout the embed loss expects).</summary>
    public static IReadOnlyList<BatchTensor> ForPairs(PairBatch batch, IReadOnlyList<string> dataInputs, int padId)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Tokens(TokenBatch.Stack(batch.Anchors, batch.Positives, padId), dataInputs);
    }

    static List<BatchTensor> Tokens(TokenBatch tokens, IReadOnlyList<string> dataInputs)
    {
        var feeds = new List<BatchTensor>(dataInputs.Count + 1);
        foreach (string name in dataInputs)
            feeds.Add(BatchTensor.Int64(name, tokens.Shape, name switch
            {
                "input_ids" => tokens.InputIds,
                "attention_mask" => tokens.AttentionMask,
                "token_type_ids" => tokens.TokenTypeIds,
                _ => throw new VbLoraOrt.Onnx.BadInputException(
                    $"the model's data input '{name}' is not one the runner can fill (input_ids, attention_mask, token_type_ids)."),
            }));
        return feeds;
    }
}
