using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Tasks;

/// <summary>Task head and loss options, validated once by <see cref="Validate"/>.</summary>
public sealed class TaskOptions
{
    /// <summary>The task. Default <see cref="TaskKind.Classify"/>.</summary>
    public TaskKind Kind { get; init; } = TaskKind.Classify;

    /// <summary>Number of classes; 1 means regression with MSE. Default 2.</summary>
    public int NumLabels { get; init; } = 2;

    /// <summary>Pooling for classify (embed always uses mean pooling: see <see cref="EffectivePooling"/>). Default <see cref="Pooling.Cls"/>.</summary>
    public Pooling Pooling { get; init; } = Pooling.Cls;

    /// <summary>Standard deviation of the classifier weight's normal init (bias starts at 0). Default 0.02.</summary>
    public float HeadInitStd { get; init; } = 0.02f;

    /// <summary>Similarity scale of the contrastive loss (sentence-transformers' default). Default 20.</summary>
    public float EmbedScale { get; init; } = 20f;

    /// <summary>The pooling the head computes and the manifest records: <see cref="Pooling"/> for classify, mean for embed.</summary>
    public Pooling EffectivePooling => Kind == TaskKind.Embed ? Pooling.Mean : Pooling;

    /// <summary>Throws <see cref="UsageException"/> naming the bad value.</summary>
    public void Validate()
    {
        if (Kind == TaskKind.Classify && NumLabels < 1)
            throw new UsageException($"--num-labels must be at least 1 (1 = regression), not {NumLabels}.");
        if (HeadInitStd <= 0 || !float.IsFinite(HeadInitStd))
            throw new UsageException($"the head's init std must be a positive number, not {HeadInitStd}.");
        if (EmbedScale <= 0 || !float.IsFinite(EmbedScale))
            throw new UsageException($"the embedding similarity scale must be positive, not {EmbedScale}.");
    }
}
