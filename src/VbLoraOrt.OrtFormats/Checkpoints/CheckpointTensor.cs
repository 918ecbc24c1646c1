namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>A named float32 tensor of an ONNX Runtime checkpoint: a parameter with its dims and values (row-major).</summary>
public sealed class CheckpointTensor
{
    /// <summary>Creates the tensor; <paramref name="values"/> is kept, not copied.</summary>
    /// <exception cref="ArgumentException">An empty name, a negative dimension, or values that do not fill the dims.</exception>
    public CheckpointTensor(string name, long[] dims, float[] values)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dims);
        ArgumentNullException.ThrowIfNull(values);
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0)
                throw new ArgumentException($"tensor '{name}' has a negative dimension in [{string.Join(",", dims)}].", nameof(dims));
            count = d == 0 || count <= long.MaxValue / d ? count * d : long.MaxValue;
        }
        if (count != values.Length)
            throw new ArgumentException(
                $"tensor '{name}' has {values.Length} values for dims [{string.Join(",", dims)}] ({count} elements).", nameof(values));
        Name = name;
        Dims = dims;
        Values = values;
    }

    /// <summary>The parameter's name, as the training model's graph input calls it.</summary>
    public string Name { get; }

    /// <summary>The dimensions; empty for a scalar.</summary>
    public IReadOnlyList<long> Dims { get; }

    /// <summary>The values, row-major.</summary>
    public float[] Values { get; }

    /// <summary>The dims as text, e.g. <c>[3,2]</c>, for messages.</summary>
    public string DimsText => $"[{string.Join(",", Dims)}]";
}
