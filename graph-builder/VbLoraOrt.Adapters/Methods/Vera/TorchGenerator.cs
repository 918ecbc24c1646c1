namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>
/// The few calls of PyTorch's CPU generator (<c>torch.Generator(device="cpu").manual_seed(seed)</c>) that PEFT's VeRA
/// uses to draw its shared projections, reproduced bit for bit: the 32-bit Mersenne Twister of
/// <c>ATen/core/MT19937RNGEngine.h</c> (seeded by the low 32 bits of the seed, as <c>init_genrand</c>) and
/// <c>Tensor.uniform_(from, to, generator=g)</c> on a float32 tensor, which PyTorch's CPU kernel
/// (<c>native/cpu/DistributionTemplates.h</c>, <c>uniform_kernel</c>) runs serially, one 32-bit draw per element in
/// row-major order, through <c>transformation::uniform_real</c> (<c>ATen/core/TransformationHelper.h</c>):
/// <c>x = (u32 &amp; (2^24 − 1)) · 2^−24</c>, then <c>x · (to − from) + from</c>, all in float32 with <c>from</c> and
/// <c>to</c> first rounded from double to float. Written from those sources; checked against g++'s
/// <c>std::mt19937</c>, published <c>torch.rand</c> values and libtorch 2.10's own output (tests).
/// <para>
/// The last step depends on how the PyTorch binary was compiled, not on its source: the CPU kernels are built once per
/// instruction set, and in the AVX2 and AVX-512 builds the compiler fuses <c>x · (to − from) + from</c> into one
/// fused multiply-add (one rounding), while the baseline build rounds the product and the sum separately. Measured on
/// libtorch 2.10 (x86-64): the AVX2/AVX-512 kernels, which PyTorch dispatches to on any CPU with AVX2, match
/// <see cref="UniformArithmetic.Fused"/>; <c>ATEN_CPU_CAPABILITY=default</c> matches
/// <see cref="UniformArithmetic.Separate"/>. The two differ in the last bit of some values whenever
/// <c>to − from</c> is not a power of two. That is why PEFT warns that regenerated VeRA projections are exact only
/// on the same system configuration, and saves them by default.
/// </para>
/// </summary>
public sealed class TorchGenerator
{
    const int N = 624, M = 397;
    const uint MatrixA = 0x9908b0df, UpperMask = 0x80000000, LowerMask = 0x7fffffff;
    const uint FloatMask = (1u << 24) - 1;              // float has 24 significand bits
    const float FloatDivisor = 1.0f / (1 << 24);

    readonly uint[] _state = new uint[N];
    int _left, _next;

    /// <summary>A generator in the state <c>torch.Generator().manual_seed(seed)</c> leaves it in.</summary>
    /// <param name="seed">The seed as PyTorch stores it (unsigned 64-bit); only its low 32 bits seed the engine.</param>
    public TorchGenerator(ulong seed)
    {
        Seed = seed;
        _state[0] = (uint)seed;
        for (uint j = 1; j < N; j++)
            _state[j] = unchecked(1812433253u * (_state[j - 1] ^ (_state[j - 1] >> 30)) + j);
        _left = 1;
        _next = 0;
    }

    /// <summary>The seed the generator was created with.</summary>
    public ulong Seed { get; }

    /// <summary>
    /// The generator of <c>torch.Generator().manual_seed(seed)</c> for a Python integer seed: negative seeds are
    /// remapped as PyTorch documents for <c>manual_seed</c>, <c>0xffff_ffff_ffff_ffff + seed</c>.
    /// </summary>
    public static TorchGenerator ManualSeed(long seed) =>
        new(seed >= 0 ? (ulong)seed : unchecked(ulong.MaxValue + (ulong)seed));

    /// <summary>The next 32-bit output of the engine (<c>CPUGeneratorImpl::random()</c>).</summary>
    public uint NextUInt32()
    {
        if (--_left == 0)
            Regenerate();
        uint y = _state[_next++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >> 18;
        return y;
    }

    /// <summary>
    /// Fills <paramref name="values"/> as <c>tensor.uniform_(from, to, generator=g)</c> fills a contiguous float32
    /// tensor: element by element in order, one 32-bit draw each.
    /// </summary>
    /// <param name="values">The tensor's elements in row-major order.</param>
    /// <param name="from">Lower bound (a Python float, rounded to float32 as the kernel does).</param>
    /// <param name="to">Upper bound (likewise).</param>
    /// <param name="arithmetic">Which CPU kernel's rounding to reproduce (see the class remarks).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="from"/> is greater than <paramref name="to"/>.</exception>
    public void FillUniform(Span<float> values, double from, double to, UniformArithmetic arithmetic = UniformArithmetic.Fused)
    {
        float lower = (float)from, upper = (float)to;
        if (!(lower <= upper))
            throw new ArgumentOutOfRangeException(nameof(from), $"uniform_ expects from <= to, got from={from}, to={to}");
        float width = upper - lower;
        for (int i = 0; i < values.Length; i++)
        {
            float x = (NextUInt32() & FloatMask) * FloatDivisor;    // exact: 24 bits times a power of two
            values[i] = arithmetic == UniformArithmetic.Fused
                ? MathF.FusedMultiplyAdd(x, width, lower)
                : x * width + lower;
        }
    }

    /// <summary>A new float32 array of <paramref name="count"/> values drawn by <see cref="FillUniform"/>.</summary>
    public float[] Uniform(int count, double from, double to, UniformArithmetic arithmetic = UniformArithmetic.Fused)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var values = new float[count];
        FillUniform(values, from, to, arithmetic);
        return values;
    }

    // MT19937's state transition over all 624 words (the "twist").
    void Regenerate()
    {
        for (int k = 0; k < N; k++)
        {
            uint mixed = (_state[k] & UpperMask) | (_state[(k + 1) % N] & LowerMask);
            uint twisted = (mixed >> 1) ^ ((_state[(k + 1) % N] & 1) != 0 ? MatrixA : 0);
            _state[k] = _state[(k + M) % N] ^ twisted;
        }
        _left = N;
        _next = 0;
    }
}
