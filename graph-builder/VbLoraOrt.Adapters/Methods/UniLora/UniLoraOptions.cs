using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Methods.UniLora;

/// <summary>
/// Uni-LoRA configuration, named after PEFT's Uni-LoRA config (<c>theta_d_length</c>, <c>r</c>, <c>proj_seed</c>,
/// <c>init_theta_d_bound</c>). Checked once by <see cref="Validate"/> (the <see cref="UniLoraMethod"/> constructor calls it).
/// </summary>
public sealed class UniLoraOptions
{
    /// <summary>d: length of the one trainable vector θ. Default 4096.</summary>
    public int ThetaLength { get; init; } = 4096;

    /// <summary>r: rank of every A/B pair. Default 4.</summary>
    public int Rank { get; init; } = 4;

    /// <summary>Seed of the projection's index array (numpy <c>default_rng</c>, as PEFT). Default 42.</summary>
    public long ProjectionSeed { get; init; } = 42;

    /// <summary>Seed of θ's initial values. Default 42.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>θ starts as U(−bound, bound). Default 0.02.</summary>
    public double InitThetaBound { get; init; } = 0.02;

    /// <summary>Throws naming the first invalid option by its command-line name.</summary>
    /// <exception cref="UsageException">An option is out of range.</exception>
    public void Validate()
    {
        MethodChecks.AtLeastOne(ThetaLength, "theta-length");
        MethodChecks.AtLeastOne(Rank, "rank");
        if (ProjectionSeed < 0)
            throw new UsageException($"--projection-seed must be ≥ 0 (numpy seeds are non-negative), not {ProjectionSeed}.");
        MethodChecks.FiniteNonNegative(InitThetaBound, "init-theta-bound");
    }
}
