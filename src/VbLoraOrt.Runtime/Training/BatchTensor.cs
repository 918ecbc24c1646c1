using Microsoft.ML.OnnxRuntime;

namespace VbLoraOrt.Runtime.Training;

/// <summary>
/// One data or label input of a training batch, on the host: int64 token ids / masks / class labels, or float
/// targets. The only thing copied to the device each step.
/// </summary>
public sealed class BatchTensor
{
    readonly long[]? _int64s;
    readonly float[]? _floats;

    BatchTensor(string name, long[] shape, long[]? int64s, float[]? floats, int length)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        long count = shape.Aggregate(1L, (a, d) => d < 0 ? throw new ArgumentOutOfRangeException(nameof(shape), $"batch input '{name}' has negative dimension {d}.") : checked(a * d));
        if (count != length)
            throw new ArgumentException($"batch input '{name}' has {length} values for shape [{string.Join(",", shape)}] ({count} elements).", nameof(shape));
        Name = name;
        Shape = shape;
        _int64s = int64s;
        _floats = floats;
    }

    /// <summary>Graph input name.</summary>
    public string Name { get; }

    /// <summary>Dimensions, e.g. <c>[batch, seq]</c>.</summary>
    public long[] Shape { get; }

    /// <summary>An int64 input (token ids, masks, class labels).</summary>
    public static BatchTensor Int64(string name, long[] shape, long[] values) =>
        new(name, shape, values ?? throw new ArgumentNullException(nameof(values)), null, values.Length);

    /// <summary>A float input (regression targets, features).</summary>
    public static BatchTensor Float(string name, long[] shape, float[] values) =>
        new(name, shape, null, values ?? throw new ArgumentNullException(nameof(values)), values.Length);

    /// <summary>An OrtValue over the host array (pinned, not copied); dispose it after the run.</summary>
    public OrtValue ToOrtValue() => _int64s is not null
        ? OrtValue.CreateTensorValueFromMemory(_int64s, Shape)
        : OrtValue.CreateTensorValueFromMemory(_floats!, Shape);
}
