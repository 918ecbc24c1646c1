namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>
/// VeRA's frozen shared projections, built exactly as PEFT's <c>VeraModel._init_vera_A_vera_B</c> builds them
/// (<c>tuners/vera/model.py</c>): one CPU generator seeded with <c>projection_prng_key</c>, then
/// <c>vera_A: [r, max_in]</c> drawn first and <c>vera_B: [max_out, r]</c> second from the same stream, each by
/// <c>_kaiming_init</c> — <c>U(−bound, bound)</c> with <c>bound = √3 · (√2 / √fan_in)</c> where <c>fan_in</c> is the
/// tensor's second dimension (torch's <c>_calculate_correct_fan(t, "fan_in")</c> for a 2-D tensor): <c>max_in</c> for
/// A, <c>r</c> for B. <c>max_in</c> and <c>max_out</c> are the largest input and output sizes over the targeted
/// layers, taken separately (<c>VeraModel._find_dim</c>).
/// </summary>
/// <param name="A">Row-major <c>[Rank, MaxIn]</c>.</param>
/// <param name="B">Row-major <c>[MaxOut, Rank]</c>.</param>
/// <param name="Rank">r.</param>
/// <param name="MaxIn">Largest input size of a target.</param>
/// <param name="MaxOut">Largest output size of a target.</param>
public sealed record VeraProjections(float[] A, float[] B, int Rank, int MaxIn, int MaxOut)
{
    /// <summary>Draws the projections PEFT draws for <paramref name="seed"/> (<c>projection_prng_key</c>).</summary>
    /// <param name="seed">PEFT's <c>projection_prng_key</c> (default 0).</param>
    /// <param name="rank">r.</param>
    /// <param name="maxIn">Largest input size of a target.</param>
    /// <param name="maxOut">Largest output size of a target.</param>
    /// <param name="arithmetic">
    /// Which PyTorch CPU kernel's rounding to reproduce: <see cref="UniformArithmetic.Fused"/> for PyTorch on any
    /// x86-64 CPU with AVX2 (the common case), <see cref="UniformArithmetic.Separate"/> for its baseline kernel. A
    /// projection saved by PEFT (<c>save_projection</c>, its default) makes the choice moot.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public static VeraProjections Generate(long seed, int rank, int maxIn, int maxOut, UniformArithmetic arithmetic = UniformArithmetic.Fused)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rank);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxIn);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxOut);
        var generator = TorchGenerator.ManualSeed(seed);
        var a = KaimingUniform(generator, rows: rank, columns: maxIn, arithmetic);   // vera_A first,
        var b = KaimingUniform(generator, rows: maxOut, columns: rank, arithmetic);  // then vera_B from the same stream
        return new VeraProjections(a, b, rank, maxIn, maxOut);
    }

    /// <summary>
    /// The shared sizes for targets of the given sizes: the largest input and the largest output, each maximised on
    /// its own, as PEFT's <c>_find_dim</c> does.
    /// </summary>
    /// <exception cref="ArgumentException">No targets.</exception>
    public static (int MaxIn, int MaxOut) SharedShape(IEnumerable<(int In, int Out)> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        int maxIn = 0, maxOut = 0;
        foreach (var (inFeatures, outFeatures) in targets)
        {
            maxIn = Math.Max(maxIn, inFeatures);
            maxOut = Math.Max(maxOut, outFeatures);
        }
        if (maxIn == 0 || maxOut == 0)
            throw new ArgumentException("VeRA needs at least one target layer to size its shared projections", nameof(targets));
        return (maxIn, maxOut);
    }

    /// <summary>PEFT's <c>_kaiming_init</c> bound for a 2-D tensor with <paramref name="fanIn"/> columns, in double as Python computes it.</summary>
    public static double KaimingBound(int fanIn)
    {
        double gain = Math.Sqrt(2);
        double std = gain / Math.Sqrt(fanIn);
        return Math.Sqrt(3.0) * std;
    }

    static float[] KaimingUniform(TorchGenerator generator, int rows, int columns, UniformArithmetic arithmetic)
    {
        double bound = KaimingBound(columns);
        return generator.Uniform(checked(rows * columns), -bound, bound, arithmetic);
    }
}
