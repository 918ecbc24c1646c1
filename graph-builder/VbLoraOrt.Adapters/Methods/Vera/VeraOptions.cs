using System.Text.Json.Serialization;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>
/// VeRA configuration, named and defaulted like PEFT's <c>VeraConfig</c> (<c>r</c>, <c>projection_prng_key</c>,
/// <c>d_initial</c>). Checked once by <see cref="Validate"/> (the <see cref="VeraMethod"/> constructor calls it).
/// </summary>
public sealed class VeraOptions
{
    /// <summary>r: rank of the shared projections. Default 256 (PEFT's default).</summary>
    public int Rank { get; init; } = 256;

    /// <summary>Seed of the shared projections (<c>projection_prng_key</c>, torch's CPU generator). Default 0 (PEFT's).</summary>
    public long ProjectionSeed { get; init; }

    /// <summary>Which PyTorch CPU kernel's rounding the projections reproduce (see <see cref="TorchGenerator"/>). Default fused (AVX2).</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<UniformArithmetic>))]
    public UniformArithmetic ProjectionArithmetic { get; init; } = UniformArithmetic.Fused;

    /// <summary>Initial value of every λ_d entry (<c>d_initial</c>). Default 0.1.</summary>
    public double DInitial { get; init; } = 0.1;

    /// <summary>Initialisation seed; VeRA's initial values are constants (λ_d = d_initial, λ_b = 0), so it is only recorded.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>Dropout on the adapter input. Default 0; only 0 is supported so far.</summary>
    public double Dropout { get; init; }

    /// <summary>Throws naming the first invalid option by its command-line name.</summary>
    /// <exception cref="UsageException">An option is out of range.</exception>
    public void Validate()
    {
        MethodChecks.AtLeastOne(Rank, "rank");
        if (!double.IsFinite(DInitial))
            throw new UsageException($"--d-initial must be a finite number, not {DInitial}.");
        if (!Enum.IsDefined(ProjectionArithmetic))
            throw new UsageException($"projection arithmetic {(int)ProjectionArithmetic} is not one of {string.Join(", ", Enum.GetNames<UniformArithmetic>())}.");
        MethodChecks.NoDropout(Dropout);
    }
}
