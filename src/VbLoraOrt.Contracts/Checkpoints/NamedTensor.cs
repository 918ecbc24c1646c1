using VbLoraOrt.Contracts.Artifacts;

namespace VbLoraOrt.Contracts.Checkpoints;

/// <summary>A float tensor held on the host under its contract name (a trainable, or one of its moments).</summary>
/// <param name="Name">Name per <c>ArtifactNames</c>: the trainable's name, or <c>FirstMoment</c>/<c>SecondMoment</c> of it.</param>
/// <param name="Shape">Dimensions; empty for a scalar.</param>
/// <param name="Values">Row-major values; length is the product of <paramref name="Shape"/>.</param>
public sealed record NamedTensor(string Name, long[] Shape, float[] Values)
{
    /// <summary>Number of elements the shape describes.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => checked(a * d));
}
