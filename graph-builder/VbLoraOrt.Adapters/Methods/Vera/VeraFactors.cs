namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>
/// VeRA's per-target factors in C#, as PEFT's <c>vera.layer.Linear.get_delta_weight</c> forms them: slice the shared
/// projections to the layer, <c>A[:, :in]</c> and <c>B[:out, :]</c>, and scale their rows,
/// <c>A_t = diag(λ_d)·A[:, :in]</c> <c>[r, in]</c> and <c>B_t = diag(λ_b)·B[:out, :]</c> <c>[out, r]</c>, so that
/// <c>ΔW = B_t·A_t = diag(λ_b)·B·diag(λ_d)·A</c> <c>[out, in]</c> (torch orientation; <c>fan_in_fan_out</c> transposes
/// it). Each entry is one float32 product, as in PEFT, so the factors equal PEFT's bit for bit given the same inputs.
/// </summary>
public static class VeraFactors
{
    /// <summary><c>diag(λ_d)·A[:, :in]</c>, row-major <c>[r, in]</c>.</summary>
    /// <exception cref="ArgumentException">A size does not fit the projections.</exception>
    public static float[] ScaledA(VeraProjections projections, ReadOnlySpan<float> lambdaD, int inFeatures)
    {
        ArgumentNullException.ThrowIfNull(projections);
        int r = projections.Rank;
        if (lambdaD.Length != r)
            throw new ArgumentException($"λ_d has {lambdaD.Length} entries; VeRA's rank is {r}", nameof(lambdaD));
        if (inFeatures <= 0 || inFeatures > projections.MaxIn)
            throw new ArgumentException($"in_features {inFeatures} does not fit the shared vera_A [{r}, {projections.MaxIn}]", nameof(inFeatures));
        var a = new float[r * inFeatures];
        for (int row = 0; row < r; row++)
            for (int col = 0; col < inFeatures; col++)
                a[row * inFeatures + col] = lambdaD[row] * projections.A[row * projections.MaxIn + col];
        return a;
    }

    /// <summary><c>diag(λ_b)·B[:out, :]</c>, row-major <c>[out, r]</c>.</summary>
    /// <exception cref="ArgumentException">A size does not fit the projections.</exception>
    public static float[] ScaledB(VeraProjections projections, ReadOnlySpan<float> lambdaB)
    {
        ArgumentNullException.ThrowIfNull(projections);
        int r = projections.Rank, outFeatures = lambdaB.Length;
        if (outFeatures == 0 || outFeatures > projections.MaxOut)
            throw new ArgumentException($"λ_b has {outFeatures} entries, which does not fit the shared vera_B [{projections.MaxOut}, {r}]", nameof(lambdaB));
        var b = new float[outFeatures * r];
        for (int row = 0; row < outFeatures; row++)
            for (int col = 0; col < r; col++)
                b[row * r + col] = lambdaB[row] * projections.B[row * r + col];
        return b;
    }
}
