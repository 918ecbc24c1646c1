using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Storage;

/// <summary>
/// The tensors of one adapter file being read: each expected tensor is taken once with its dtype and shape
/// checked; whatever is left over at the end is an error. Every error names the file and the tensor.
/// </summary>
public sealed class StoredTensors
{
    readonly string _path;
    readonly Dictionary<string, SafeTensor> _remaining;

    /// <summary>Holds the tensors read from <paramref name="path"/>.</summary>
    /// <exception cref="BadInputException">A key appears twice.</exception>
    public StoredTensors(string path, IReadOnlyList<SafeTensor> tensors)
    {
        _path = path;
        _remaining = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
        foreach (var t in tensors)
            if (!_remaining.TryAdd(t.Name, t))
                throw Bad($"tensor '{t.Name}' appears twice");
    }

    /// <summary>The tensor <paramref name="key"/>, which must have <paramref name="dtype"/> and <paramref name="shape"/>.</summary>
    public SafeTensor Take(string key, string dtype, long[] shape)
    {
        if (!_remaining.Remove(key, out SafeTensor? tensor))
            throw Bad($"tensor '{key}' is missing (the file is incomplete or was written for other targets)");
        if (tensor.DType != dtype)
            throw Bad($"tensor '{key}' is {tensor.DType}, expected {dtype}");
        if (!tensor.Shape.SequenceEqual(shape))
            throw Bad($"tensor '{key}' has shape [{string.Join(",", tensor.Shape)}], expected [{string.Join(",", shape)}]");
        return tensor;
    }

    /// <summary>The values of F32 tensor <paramref name="key"/> of <paramref name="shape"/>, which must all be finite.</summary>
    public float[] TakeFiniteFloats(string key, long[] shape)
    {
        float[] values = Take(key, "F32", shape).Floats();
        int bad = Array.FindIndex(values, v => !float.IsFinite(v));
        return bad < 0 ? values : throw Bad($"tensor '{key}' holds a non-finite value ({values[bad]}) at element {bad}");
    }

    /// <summary>Throws when a tensor was never taken.</summary>
    public void RequireAllTaken()
    {
        if (_remaining.Count > 0)
            throw Bad($"unexpected tensor(s) {string.Join(", ", _remaining.Keys.Select(k => $"'{k}'"))} (not part of this adapter's method, targets or task)");
    }

    /// <summary>An error about this file.</summary>
    public BadInputException Bad(string problem) => new($"{_path}: {problem}.");
}
