namespace VbLoraOrt.Contracts.Artifacts;

/// <summary>
/// A tensor the runner updates: fed to the training graph as an input, its gradient returned as
/// <c>ArtifactNames.Grad(Name)</c>, stepped by the optimizer with its group's learning rate.
/// </summary>
/// <param name="Name">Graph input name, e.g. <c>vblora_vector_bank</c>.</param>
/// <param name="Shape">Static shape.</param>
/// <param name="Group">Parameter group (<see cref="ParameterGroups"/>): selects learning rate and weight decay.</param>
public sealed record TrainableTensor(string Name, long[] Shape, string Group)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => checked(a * d));
}

/// <summary>The parameter groups the optimizer knows; each has its own learning rate.</summary>
public static class ParameterGroups
{
    /// <summary>VB-LoRA's shared vector bank.</summary>
    public const string Bank = "bank";

    /// <summary>VB-LoRA's per-layer top-k logits.</summary>
    public const string Logits = "logits";

    /// <summary>Uni-LoRA's single vector θ.</summary>
    public const string Theta = "theta";

    /// <summary>LoRA / VeRA per-layer factors or scales.</summary>
    public const string Adapter = "adapter";

    /// <summary>The task head (classifier weights and bias).</summary>
    public const string Head = "head";
}
