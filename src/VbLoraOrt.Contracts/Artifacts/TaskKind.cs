namespace VbLoraOrt.Contracts.Artifacts;

/// <summary>What the fine-tuned model is for.</summary>
public enum TaskKind
{
    /// <summary>Sequence classification (cross-entropy), or regression (MSE) with one label.</summary>
    Classify,

    /// <summary>Sentence embeddings trained with in-batch negatives (MultipleNegativesRankingLoss).</summary>
    Embed,
}
