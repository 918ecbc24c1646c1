namespace VbLoraOrt.Adapters.Methods.UniLora;

/// <summary>
/// Uni-LoRA's fixed projection <c>P: [D, d]</c> with one nonzero per row (DESIGN.md §2): row <c>i</c> of the flat LoRA
/// vector reads <c>θ[Index[i]] · Scale[Index[i]]</c>. The index array is every column <c>0..d−1</c> repeated
/// <c>⌊D/d⌋</c> times, then <c>D mod d</c> distinct extra columns, shuffled — generated exactly as PEFT's Uni-LoRA does
/// with numpy (<c>np.repeat(np.arange(d), D // d)</c>, <c>rng.choice(d, D % d, replace=False)</c>,
/// <c>rng.shuffle</c>, <c>rng = default_rng(seed)</c>), so the same seed gives the same projection in both. Column
/// <c>j</c>'s scale is <c>1/√n_j</c>, <c>n_j</c> its number of rows, which makes the columns orthonormal: <c>PᵀP = I</c>.
/// </summary>
public sealed class UniLoraProjection
{
    UniLoraProjection(long[] index, float[] scale)
    {
        Index = index;
        Scale = scale;
    }

    /// <summary>Per row of the flat LoRA vector (length D), the column of θ it reads.</summary>
    public long[] Index { get; }

    /// <summary>Per column of θ (length d), its scale <c>1/√n_j</c> (0 for a column no row reads).</summary>
    public float[] Scale { get; }

    /// <summary>The projection of a flat LoRA vector of length <paramref name="rows"/> onto <paramref name="columns"/> trainable values.</summary>
    public static UniLoraProjection Create(long rows, long columns, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        var random = new NumpyGenerator(seed);
        long repeats = rows / columns, extra = rows % columns;
        var index = new long[rows];
        for (long j = 0, i = 0; j < columns; j++)
            for (long k = 0; k < repeats; k++)
                index[i++] = j;
        if (extra > 0)
            random.ChoiceWithoutReplacement(columns, extra).CopyTo(index, repeats * columns);
        random.Shuffle(index);

        var counts = new long[columns];
        foreach (long j in index)
            counts[j]++;
        var scale = counts.Select(n => n == 0 ? 0f : (float)(1 / Math.Sqrt(n))).ToArray();
        return new UniLoraProjection(index, scale);
    }
}
