namespace VbLoraOrt.Adapters.Peft;

/// <summary>Choices PEFT leaves to the user when saving.</summary>
public sealed record PeftExportOptions
{
    /// <summary>VB-LoRA: <c>save_only_topk_weights</c> (PEFT's default false: the full logits).</summary>
    public bool TopKOnly { get; init; }

    /// <summary>VeRA: <c>save_projection</c> (PEFT's default true: the shared projections are saved).</summary>
    public bool SaveProjection { get; init; } = true;
}
