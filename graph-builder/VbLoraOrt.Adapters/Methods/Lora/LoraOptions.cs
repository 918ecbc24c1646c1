using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Methods.Lora;

/// <summary>
/// LoRA configuration, named and defaulted like PEFT's <c>LoraConfig</c>: rank r, scaling α/r. Checked once by
/// <see cref="Validate"/> (the <see cref="LoraMethod"/> constructor calls it).
/// </summary>
public sealed class LoraOptions
{
    /// <summary>r: rank of every A/B pair. Default 8.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>α: the update is scaled by α/r. Default 8 (PEFT's default).</summary>
    public double Alpha { get; init; } = 8;

    /// <summary>Seed of A's initial values. Default 42.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>Dropout on the adapter input. Default 0; only 0 is supported so far.</summary>
    public double Dropout { get; init; }

    /// <summary>The scale applied to B·A: α/r.</summary>
    public double Scaling => Alpha / Rank;

    /// <summary>Throws naming the first invalid option by its command-line name.</summary>
    /// <exception cref="UsageException">An option is out of range.</exception>
    public void Validate()
    {
        MethodChecks.AtLeastOne(Rank, "rank");
        if (!double.IsFinite(Alpha) || Alpha <= 0)
            throw new UsageException($"--lora-alpha must be a finite number > 0, not {Alpha}.");
        MethodChecks.NoDropout(Dropout);
    }
}
