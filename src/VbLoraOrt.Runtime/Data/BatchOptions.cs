namespace VbLoraOrt.Runtime.Data;

/// <summary>How examples are grouped into batches for one epoch.</summary>
public sealed class BatchOptions
{
    /// <summary>Examples per batch (the last batch of an epoch may be smaller). Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Sequence length every example was truncated to; the padded length in <see cref="PaddingMode.MaxLength"/>. Default 128.</summary>
    public int MaxLength { get; init; } = 128;

    /// <summary>Padding strategy. Default <see cref="PaddingMode.Longest"/>.</summary>
    public PaddingMode Padding { get; init; } = PaddingMode.Longest;

    /// <summary>
    /// Batches per sorting chunk in <see cref="PaddingMode.Longest"/>: shuffled examples are sorted by length only
    /// within chunks of this many batches, so batches stay varied between epochs. Default 50.
    /// </summary>
    public int BucketChunkBatches { get; init; } = 50;

    /// <summary>
    /// Seed of the shuffles. Epoch <c>e</c> uses <c>new Random(Seed + e)</c>, whose sequence for a given seed is
    /// fixed across .NET versions (the seeded legacy algorithm), with our own Fisher–Yates shuffle. Default 0.
    /// </summary>
    public int Seed { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLength, 2, nameof(MaxLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(BucketChunkBatches, 1, nameof(BucketChunkBatches));
    }
}
