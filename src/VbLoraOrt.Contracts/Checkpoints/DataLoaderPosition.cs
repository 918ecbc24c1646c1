namespace VbLoraOrt.Contracts.Checkpoints;

/// <summary>Where the data loader stands, so a resumed run draws the same batches a straight run would.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="BatchIndex">0-based index of the next batch within <paramref name="Epoch"/>.</param>
/// <param name="Seed">Seed of the shuffling / dropout random stream.</param>
public sealed record DataLoaderPosition(int Epoch, long BatchIndex, long Seed)
{
    /// <summary>The start of a run seeded with <paramref name="seed"/>.</summary>
    public static DataLoaderPosition Start(long seed) => new(0, 0, seed);
}
