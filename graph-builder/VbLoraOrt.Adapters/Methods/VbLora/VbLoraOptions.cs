namespace VbLoraOrt.Adapters.Methods.VbLora;

/// <summary>
/// VB-LoRA configuration, named and defaulted like PEFT's <c>VBLoRAConfig</c>. Checked once by
/// <see cref="Validate"/> (the <see cref="VbLoraMethod"/> constructor calls it).
/// </summary>
public sealed class VbLoraOptions
{
    /// <summary>h: vectors in the shared bank. Default 256.</summary>
    public int NumVectors { get; init; } = 256;

    /// <summary>b: length of each bank vector; must divide every target's in and out features. Default 256
    /// (for hidden size 384 use 128 or 384).</summary>
    public int VectorLength { get; init; } = 256;

    /// <summary>r: rank of every A/B pair. Default 4.</summary>
    public int Rank { get; init; } = 4;

    /// <summary>k: bank vectors mixed per sub-vector (top-k of the logits). Default 2.</summary>
    public int TopK { get; init; } = 2;

    /// <summary>Seed of the initial values. Default 42.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>The bank starts as U(-bound, bound). Default 0.02.</summary>
    public double InitVectorBankBound { get; init; } = 0.02;

    /// <summary>Logits start as N(0, std²). Default 0.1 like PEFT (the paper's code uses 0.01).</summary>
    public double InitLogitsStd { get; init; } = 0.1;

    /// <summary>Dropout on the adapter input. Default 0; only 0 is supported so far.</summary>
    public double Dropout { get; init; }

    /// <summary>Throws naming the first invalid option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public void Validate()
    {
        Positive(NumVectors, nameof(NumVectors));
        Positive(VectorLength, nameof(VectorLength));
        Positive(Rank, nameof(Rank));
        Positive(TopK, nameof(TopK));
        if (TopK > NumVectors)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK,
                $"TopK ({TopK}) cannot exceed NumVectors ({NumVectors}): top-k picks k distinct vectors from the bank.");
        if (!(InitVectorBankBound >= 0) || double.IsInfinity(InitVectorBankBound))
            throw new ArgumentOutOfRangeException(nameof(InitVectorBankBound), InitVectorBankBound, "must be a finite number ≥ 0.");
        if (!(InitLogitsStd >= 0) || double.IsInfinity(InitLogitsStd))
            throw new ArgumentOutOfRangeException(nameof(InitLogitsStd), InitLogitsStd, "must be a finite number ≥ 0.");
        if (Dropout != 0)
            throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "adapter dropout is not supported yet; use 0.");
    }

    static void Positive(int value, string name)
    {
        if (value < 1)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
    }
}
