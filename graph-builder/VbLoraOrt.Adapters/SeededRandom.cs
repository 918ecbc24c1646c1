namespace VbLoraOrt.Adapters;

/// <summary>
/// Deterministic random numbers for parameter initialization, identical on every platform and .NET version
/// (SplitMix64; <see cref="Random"/> promises no stable sequence). Each tensor draws from its own stream,
/// keyed by seed and tensor name, so adding or reordering targets does not change other tensors' values.
/// </summary>
public sealed class SeededRandom
{
    ulong _state;

    /// <summary>The stream <paramref name="stream"/> (usually a tensor name) of generator <paramref name="seed"/>.</summary>
    public SeededRandom(long seed, string stream)
    {
        _state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL) ^ Fnv1a(stream);
    }

    ulong NextBits()
    {
        unchecked
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextBits() >> 11) * (1.0 / (1UL << 53));

    /// <summary><paramref name="count"/> draws from U(<paramref name="low"/>, <paramref name="high"/>).</summary>
    public float[] Uniform(long count, double low, double high)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++)
            values[i] = (float)(low + (high - low) * NextDouble());
        return values;
    }

    /// <summary><paramref name="count"/> draws from N(0, <paramref name="std"/>²) (Box–Muller).</summary>
    public float[] Normal(long count, double std)
    {
        var values = new float[count];
        for (long i = 0; i < count; i += 2)
        {
            double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - NextDouble())); // 1 - u ∈ (0, 1]: log is finite
            double angle = 2.0 * Math.PI * NextDouble();
            values[i] = (float)(std * radius * Math.Cos(angle));
            if (i + 1 < count)
                values[i + 1] = (float)(std * radius * Math.Sin(angle));
        }
        return values;
    }

    static ulong Fnv1a(string text)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (char c in text)
            hash = unchecked((hash ^ c) * 0x100000001B3UL);
        return hash;
    }
}
