namespace VbLoraOrt.GraphBuilder;

/// <summary>
/// Deterministic initial values for trainable tensors: the same seed gives the same numbers on every machine
/// and .NET version (xorshift-style generator written here, not <see cref="Random"/>, whose algorithm may change).
/// </summary>
public sealed class SeededRandom
{
    ulong _state;

    /// <summary>A generator for <paramref name="seed"/> (any value, including 0).</summary>
    public SeededRandom(long seed) => _state = Mix((ulong)seed + 0x9E3779B97F4A7C15UL);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [low, high).</summary>
    public float Uniform(float low, float high) => (float)(low + (high - low) * NextDouble());

    /// <summary>Normal with the given mean and standard deviation (Box–Muller).</summary>
    public float Normal(float mean, float std)
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return (float)(mean + std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary><paramref name="count"/> uniform values.</summary>
    public float[] Uniforms(long count, float low, float high)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = Uniform(low, high);
        return values;
    }

    /// <summary><paramref name="count"/> normal values.</summary>
    public float[] Normals(long count, float mean, float std)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = Normal(mean, std);
        return values;
    }

    /// <summary>The next 64 random bits (splitmix64).</summary>
    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
