namespace VbLoraOrt.Contracts.Artifacts;

/// <summary>
/// A tensor the runner updates: fed to the training graph as an input, its gradient returned as
/// <c>ArtifactNames.Grad(Name)</c>, stepped by the optimizer with its group's learning rate.
/// </summary>
/// <param name="Name">Graph input name, e.g. <c>vblora_vector_bank</c>.</param>
/// <param name="Shape">Static shape.</param>
/// <param name="Group">Parameter group (a method's group, or <see cref="ParameterGroups.Head"/>): selects learning rate and weight decay.</param>
public sealed record TrainableTensor(string Name, long[] Shape, string Group)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => checked(a * d));
}

/// <summary>
/// Parameter groups every artifact folder may have. Each adapter method declares its own groups (and their default
/// learning rates) in its descriptor; the task head's group is common to all.
/// </summary>
public static class ParameterGroups
{
    /// <summary>The task head (classifier weights and bias).</summary>
    public const string Head = "head";
}
