using System.Text.Json.Serialization;
using VbLoraOrt.Onnx;

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

    /// <summary>
    /// SHA-256 of a frozen shared bank (<see cref="SharedBank.Sha256"/>), or null (default) when the bank is trained.
    /// With a shared bank only the logits train, the bank is a constant of the graphs, and adapter files store only
    /// the top-k (DESIGN.md §7.2). Not written when null, so the options of a trained bank read as before.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SharedBankSha256 { get; init; }

    /// <summary>Dropout on the adapter input. Default 0; only 0 is supported so far.</summary>
    public double Dropout { get; init; }

    /// <summary>Throws naming the first invalid option by its command-line name.</summary>
    /// <exception cref="UsageException">An option is out of range.</exception>
    public void Validate()
    {
        MethodChecks.AtLeastOne(NumVectors, "num-vectors");
        MethodChecks.AtLeastOne(VectorLength, "vector-length");
        MethodChecks.AtLeastOne(Rank, "rank");
        MethodChecks.AtLeastOne(TopK, "topk");
        if (TopK > NumVectors)
            throw new UsageException($"--topk {TopK} exceeds --num-vectors {NumVectors}: top-k picks k distinct vectors from the bank.");
        MethodChecks.FiniteNonNegative(InitVectorBankBound, "init-vector-bank-bound");
        MethodChecks.FiniteNonNegative(InitLogitsStd, "init-logits-std");
        MethodChecks.NoDropout(Dropout);
        if (SharedBankSha256 is { } sha && (sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower)))
            throw new UsageException($"sharedBankSha256 '{sha}' is not a SHA-256 (64 lower-case hex digits).");
    }
}
