namespace VbLoraOrt.Tests.Reliability;

/// <summary>Seeded corruptions of a file's bytes: what a torn copy, a bad disk or a careless edit does to it.</summary>
sealed class FileMutator(int seed)
{
    readonly Random _random = new(seed);

    public static readonly string[] Kinds = ["truncate", "flip", "splice"];

    /// <summary>A mutated copy of <paramref name="original"/> and the kind of mutation applied.</summary>
    public (byte[] Bytes, string Kind) Mutate(byte[] original)
    {
        string kind = Kinds[_random.Next(Kinds.Length)];
        byte[] bytes = kind switch
        {
            "truncate" => original[.._random.Next(original.Length)],
            "flip" => Flip(original),
            _ => Splice(original),
        };
        return (bytes, kind);
    }

    // 1 to 8 bytes XORed with a random non-zero value: single bit flips, and whole bytes changed.
    byte[] Flip(byte[] original)
    {
        byte[] bytes = (byte[])original.Clone();
        int count = _random.Next(1, 9);
        for (int i = 0; i < count; i++)
            bytes[_random.Next(bytes.Length)] ^= _random.NextDouble() < 0.5 ? (byte)(1 << _random.Next(8)) : (byte)_random.Next(1, 256);
        return bytes;
    }

    // A chunk of the file copied over, or inserted at, another place: duplicated fields, shifted offsets.
    byte[] Splice(byte[] original)
    {
        int length = _random.Next(1, Math.Max(2, original.Length / 4));
        int from = _random.Next(original.Length - Math.Min(length, original.Length - 1));
        length = Math.Min(length, original.Length - from);
        int to = _random.Next(original.Length);
        var chunk = original.AsSpan(from, length);
        if (_random.NextDouble() < 0.5)
            return [.. original.AsSpan(0, to), .. chunk, .. original.AsSpan(to)];
        byte[] bytes = (byte[])original.Clone();
        chunk[..Math.Min(length, bytes.Length - to)].CopyTo(bytes.AsSpan(to));
        return bytes;
    }
}
