namespace VbLoraOrt.Runtime.Data;

/// <summary>Decides which examples form each batch of an epoch, deterministically from the seed and epoch.</summary>
public static class BatchPlanner
{
    /// <summary>
    /// Example indices of each batch of <paramref name="epoch"/>. Examples are shuffled; with
    /// <see cref="PaddingMode.Longest"/> each chunk of <see cref="BatchOptions.BucketChunkBatches"/> batches is then
    /// sorted by length (stable), cut into batches, and the batch order shuffled again.
    /// </summary>
    /// <param name="lengths">Token count of every example (for pairs, the longer side).</param>
    /// <param name="options">Batch size, padding mode, chunking and seed.</param>
    /// <param name="epoch">0-based epoch; each epoch has its own order.</param>
    public static IReadOnlyList<int[]> Plan(IReadOnlyList<int> lengths, BatchOptions options, int epoch)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var random = new Random(unchecked(options.Seed + epoch));
        int[] order = Enumerable.Range(0, lengths.Count).ToArray();
        Shuffle(order, random);
        if (options.Padding == PaddingMode.MaxLength)
            return order.Chunk(options.BatchSize).ToArray();

        var batches = new List<int[]>();
        foreach (int[] chunk in order.Chunk(options.BatchSize * options.BucketChunkBatches))
        {
            int[] sorted = chunk.OrderBy(i => lengths[i]).ToArray(); // OrderBy is stable
            batches.AddRange(sorted.Chunk(options.BatchSize));
        }
        int[][] shuffled = batches.ToArray();
        Shuffle(shuffled, random);
        return shuffled;
    }

    // Fisher–Yates, written out so the order depends only on Random's documented seeded sequence.
    static void Shuffle<T>(T[] items, Random random)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
