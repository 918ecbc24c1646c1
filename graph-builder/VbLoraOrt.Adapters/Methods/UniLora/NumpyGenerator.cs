namespace VbLoraOrt.Adapters.Methods.UniLora;

/// <summary>
/// The few calls of numpy's <c>default_rng(seed)</c> (a <c>Generator</c> over <c>PCG64</c>, seeded through
/// <c>SeedSequence</c>) that Uni-LoRA's projection uses, reproduced bit for bit so that an adapter trained here
/// regenerates PEFT's index arrays and the other way round: <c>integers</c>-style bounded draws (Lemire),
/// <c>shuffle</c> of a 1-D array (masked rejection) and <c>choice(n, size, replace=False)</c> (Floyd's algorithm, or
/// a tail shuffle for large populations). Written from the algorithms' descriptions in numpy 1.24 and checked
/// against numpy's output (tests).
/// </summary>
public sealed class NumpyGenerator
{
    // SeedSequence's hash constants.
    const uint InitA = 0x43b0d7e5, MultA = 0x931e8875, InitB = 0x8b51f9dd, MultB = 0x58f38ded;
    const uint MixMultL = 0xca01f9dd, MixMultR = 0x4973f715;
    const int XShift = 16, PoolSize = 4;

    static readonly UInt128 Multiplier = new(2549297995355413924UL, 4865540595714422341UL);

    UInt128 _state;
    readonly UInt128 _increment;
    bool _hasUint32;
    uint _uint32;

    /// <summary>The generator of <c>numpy.random.default_rng(seed)</c>.</summary>
    public NumpyGenerator(ulong seed)
    {
        ulong[] words = GenerateState(Pool(seed), 4);
        var initState = new UInt128(words[0], words[1]);
        var initSequence = new UInt128(words[2], words[3]);
        _state = 0;
        _increment = (initSequence << 1) | 1;
        Step();
        _state += initState;
        Step();
    }

    /// <summary>The next raw 64-bit output (<c>bit_generator.random_raw()</c>).</summary>
    public ulong NextUInt64()
    {
        Step();
        ulong high = (ulong)(_state >> 64), low = (ulong)_state;
        int rotation = (int)(_state >> 122);
        return ulong.RotateRight(high ^ low, rotation);
    }

    /// <summary>32 bits: the low half of a fresh 64-bit output, then its high half.</summary>
    public uint NextUInt32()
    {
        if (_hasUint32)
        {
            _hasUint32 = false;
            return _uint32;
        }
        ulong next = NextUInt64();
        _hasUint32 = true;
        _uint32 = (uint)(next >> 32);
        return (uint)next;
    }

    /// <summary>A uniform integer in [0, <paramref name="max"/>] (numpy's <c>random_bounded_uint64</c>, Lemire's method).</summary>
    public ulong Bounded(ulong max)
    {
        if (max == 0)
            return 0;
        if (max > uint.MaxValue)
            throw new NotSupportedException("ranges above 2^32 are not needed here");
        if (max == uint.MaxValue)
            return NextUInt32();
        uint exclusive = (uint)max + 1;
        ulong m = (ulong)NextUInt32() * exclusive;
        uint leftover = (uint)m;
        if (leftover < exclusive)
        {
            uint threshold = (uint.MaxValue - (uint)max) % exclusive;
            while (leftover < threshold)
            {
                m = (ulong)NextUInt32() * exclusive;
                leftover = (uint)m;
            }
        }
        return m >> 32;
    }

    /// <summary>A uniform integer in [0, <paramref name="max"/>] by masked rejection (numpy's <c>random_interval</c>).</summary>
    public ulong Interval(ulong max)
    {
        if (max == 0)
            return 0;
        ulong mask = Mask(max);
        ulong value;
        if (max <= uint.MaxValue)
            while ((value = NextUInt32() & mask) > max) { }
        else
            while ((value = NextUInt64() & mask) > max) { }
        return value;
    }

    /// <summary><c>Generator.shuffle</c> of a 1-D array, in place.</summary>
    public void Shuffle(long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        for (long i = values.LongLength - 1; i >= 1; i--)
        {
            long j = (long)Interval((ulong)i);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary><c>Generator.choice(population, size, replace=False)</c> (shuffled, as numpy's default).</summary>
    public long[] ChoiceWithoutReplacement(long population, long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, population);
        const long cutoff = 50; // numpy's heuristic with shuffle=True
        if (population > 10000 && size > population / cutoff)
        {
            // Tail shuffle: the last `size` elements of a partial Fisher-Yates shuffle of 0..population-1.
            var all = new long[population];
            for (long i = 0; i < population; i++)
                all[i] = i;
            ShuffleInt(all, population, Math.Max(population - size, 1));
            return all[(int)(population - size)..];
        }
        // Floyd's algorithm with numpy's open-addressing set.
        var result = new long[size];
        ulong mask = Mask((ulong)(1.2 * size));
        var set = new ulong[mask + 1];
        Array.Fill(set, ulong.MaxValue);
        for (long j = population - size; j < population; j++)
        {
            ulong value = Bounded((ulong)j);
            ulong location = value & mask;
            while (set[location] != ulong.MaxValue && set[location] != value)
                location = (location + 1) & mask;
            if (set[location] == ulong.MaxValue)
            {
                set[location] = value;
                result[j - population + size] = (long)value;
            }
            else
            {
                location = (ulong)j & mask;
                while (set[location] != ulong.MaxValue)
                    location = (location + 1) & mask;
                set[location] = (ulong)j;
                result[j - population + size] = j;
            }
        }
        ShuffleInt(result, size, 1);
        return result;
    }

    // numpy's _shuffle_int: Fisher-Yates from the end down to `first`, Lemire draws.
    void ShuffleInt(long[] data, long n, long first)
    {
        for (long i = n - 1; i >= first; i--)
        {
            long j = (long)Bounded((ulong)i);
            (data[i], data[j]) = (data[j], data[i]);
        }
    }

    void Step() => _state = unchecked(_state * Multiplier + _increment);

    static ulong Mask(ulong max)
    {
        ulong mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        mask |= mask >> 32;
        return mask;
    }

    // SeedSequence(seed).pool: the seed's 32-bit words hashed and mixed into four words.
    static uint[] Pool(ulong seed)
    {
        uint[] entropy = seed >> 32 == 0 ? [(uint)seed] : [(uint)seed, (uint)(seed >> 32)];
        var pool = new uint[PoolSize];
        uint hash = InitA;
        uint HashMix(uint value)
        {
            unchecked
            {
                value ^= hash;
                hash *= MultA;
                value *= hash;
                value ^= value >> XShift;
                return value;
            }
        }
        static uint Mix(uint x, uint y)
        {
            unchecked
            {
                uint result = MixMultL * x - MixMultR * y;
                return result ^ (result >> XShift);
            }
        }
        for (int i = 0; i < PoolSize; i++)
            pool[i] = HashMix(i < entropy.Length ? entropy[i] : 0);
        for (int source = 0; source < PoolSize; source++)
            for (int destination = 0; destination < PoolSize; destination++)
                if (source != destination)
                    pool[destination] = Mix(pool[destination], HashMix(pool[source]));
        for (int source = PoolSize; source < entropy.Length; source++)
            for (int destination = 0; destination < PoolSize; destination++)
                pool[destination] = Mix(pool[destination], HashMix(entropy[source]));
        return pool;
    }

    // SeedSequence.generate_state(n, uint64): 2n 32-bit words cycled from the pool and hashed, paired little-endian.
    static ulong[] GenerateState(uint[] pool, int words64)
    {
        var words = new uint[words64 * 2];
        uint hash = InitB;
        for (int i = 0; i < words.Length; i++)
        {
            unchecked
            {
                uint value = pool[i % pool.Length];
                value ^= hash;
                hash *= MultB;
                value *= hash;
                value ^= value >> XShift;
                words[i] = value;
            }
        }
        return Enumerable.Range(0, words64).Select(i => words[2 * i] | ((ulong)words[2 * i + 1] << 32)).ToArray();
    }
}
