using System.Runtime.InteropServices;
using Onnx;

namespace VbLoraOrt.Onnx;

/// <summary>
/// Reads the contents of a model's tensors, whether inline (raw_data or typed fields) or in external-data
/// files. External locations are confined to the model's folder: absolute paths and <c>..</c> are refused.
/// </summary>
public sealed class TensorStore
{
    readonly OnnxModel _model;

    internal TensorStore(OnnxModel model) => _model = model;

    string ModelName => _model.SourcePath ?? "<in-memory model>";

    /// <summary>True when the tensor's bytes live in an external file.</summary>
    public static bool IsExternal(TensorProto tensor) =>
        tensor.HasDataLocation && tensor.DataLocation == TensorProto.Types.DataLocation.External;

    /// <summary>The tensor's bytes in little-endian raw layout.</summary>
    public byte[] ReadBytes(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        int size = ElementType.SizeOf(tensor.DataType);
        long count = ElementType.ElementCount(tensor.Dims);
        byte[] bytes = IsExternal(tensor) ? ReadExternal(tensor, size * count) : ReadInline(tensor);
        if (size > 0 && bytes.LongLength != size * count)
            throw new OnnxFormatException(ModelName,
                $"tensor '{tensor.Name}' holds {bytes.LongLength} bytes but its shape [{string.Join(",", tensor.Dims)}] of {ElementType.Name(tensor.DataType)} needs {size * count}.");
        return bytes;
    }

    /// <summary>Reads a float tensor.</summary>
    public float[] ReadFloats(TensorProto tensor)
    {
        RequireType(tensor, TensorProto.Types.DataType.Float);
        return MemoryMarshal.Cast<byte, float>(ReadBytes(tensor)).ToArray();
    }

    /// <summary>Reads an int64 tensor.</summary>
    public long[] ReadInt64s(TensorProto tensor)
    {
        RequireType(tensor, TensorProto.Types.DataType.Int64);
        return MemoryMarshal.Cast<byte, long>(ReadBytes(tensor)).ToArray();
    }

    /// <summary>Reads an integer tensor (int32 or int64) as int64 values.</summary>
    public long[] ReadIntegers(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return (TensorProto.Types.DataType)tensor.DataType switch
        {
            TensorProto.Types.DataType.Int64 => ReadInt64s(tensor),
            TensorProto.Types.DataType.Int32 => MemoryMarshal.Cast<byte, int>(ReadBytes(tensor)).ToArray().Select(v => (long)v).ToArray(),
            _ => throw new OnnxFormatException(ModelName, $"tensor '{tensor.Name}' is {ElementType.Name(tensor.DataType)}, expected an integer tensor."),
        };
    }

    void RequireType(TensorProto tensor, TensorProto.Types.DataType type)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.DataType != (int)type)
            throw new OnnxFormatException(ModelName, $"tensor '{tensor.Name}' is {ElementType.Name(tensor.DataType)}, expected {type.ToString().ToUpperInvariant()}.");
    }

    static byte[] ReadInline(TensorProto tensor)
    {
        if (tensor.HasRawData)
            return tensor.RawData.ToByteArray();
        if (tensor.FloatData.Count > 0)
            return MemoryMarshal.AsBytes(tensor.FloatData.ToArray().AsSpan()).ToArray();
        if (tensor.Int64Data.Count > 0)
            return MemoryMarshal.AsBytes(tensor.Int64Data.ToArray().AsSpan()).ToArray();
        if (tensor.DoubleData.Count > 0)
            return MemoryMarshal.AsBytes(tensor.DoubleData.ToArray().AsSpan()).ToArray();
        if (tensor.Uint64Data.Count > 0)
            return MemoryMarshal.AsBytes(tensor.Uint64Data.ToArray().AsSpan()).ToArray();
        if (tensor.Int32Data.Count > 0)
            return Int32FieldToBytes(tensor);
        return [];
    }

    // int32_data carries int32, and also narrower types (bool, int8, uint8, int16, uint16, float16) one per entry.
    static byte[] Int32FieldToBytes(TensorProto tensor)
    {
        int size = ElementType.SizeOf(tensor.DataType);
        int[] values = tensor.Int32Data.ToArray();
        if (size == 4)
            return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        var bytes = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++)
        {
            if (size == 1) bytes[i] = unchecked((byte)values[i]);
            else BitConverter.TryWriteBytes(bytes.AsSpan(i * 2, 2), unchecked((ushort)values[i]));
        }
        return bytes;
    }

    byte[] ReadExternal(TensorProto tensor, long expectedLength)
    {
        var (path, offset, length) = ResolveExternal(tensor);
        if (length < 0)
            length = expectedLength;
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new OnnxFormatException(ModelName, $"tensor '{tensor.Name}' refers to external file '{path}', which does not exist. Keep data files next to the model.");
        if (offset < 0 || length < 0 || offset + length > info.Length)
            throw new OnnxFormatException(ModelName, $"tensor '{tensor.Name}' reads bytes {offset}..{offset + length} of '{path}', which has only {info.Length} bytes (truncated data file?).");
        if (length > Array.MaxLength)
            throw new OnnxFormatException(ModelName, $"tensor '{tensor.Name}' is {length} bytes, more than one array can hold.");
        var bytes = new byte[length];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        stream.Seek(offset, SeekOrigin.Begin);
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Absolute file, offset and length (-1 when absent) of an external tensor, with the location checked.</summary>
    public (string Path, long Offset, long Length) ResolveExternal(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        string? location = null;
        long offset = 0, length = -1;
        foreach (var entry in tensor.ExternalData)
        {
            switch (entry.Key)
            {
                case "location": location = entry.Value; break;
                case "offset": offset = ParseLong(tensor, entry); break;
                case "length": length = ParseLong(tensor, entry); break;
            }
        }
        if (string.IsNullOrEmpty(location))
            throw new OnnxFormatException(ModelName, $"external tensor '{tensor.Name}' has no 'location'.");
        if (_model.BaseDirectory == null)
            throw new OnnxFormatException(ModelName, $"tensor '{tensor.Name}' is external but the model has no folder to resolve '{location}' against.");
        if (Path.IsPathRooted(location) || location.Split('/', '\\').Contains(".."))
            throw new OnnxFormatException(ModelName, $"tensor '{tensor.Name}' has external location '{location}', which leaves the model's folder; only relative paths inside it are allowed.");
        string baseDir = Path.GetFullPath(_model.BaseDirectory);
        string path = Path.GetFullPath(Path.Combine(baseDir, location));
        if (!path.StartsWith(baseDir.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new OnnxFormatException(ModelName, $"tensor '{tensor.Name}' has external location '{location}', which leaves the model's folder.");
        return (path, offset, length);
    }

    long ParseLong(TensorProto tensor, StringStringEntryProto entry) =>
        long.TryParse(entry.Value, out long v) && v >= 0
            ? v
            : throw new OnnxFormatException(ModelName, $"external tensor '{tensor.Name}' has invalid {entry.Key} '{entry.Value}'.");
}
