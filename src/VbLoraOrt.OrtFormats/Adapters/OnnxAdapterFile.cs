using VbLoraOrt.Onnx;

namespace VbLoraOrt.OrtFormats.Adapters;

/// <summary>
/// Reads and writes ONNX Runtime's adapter file (<c>.onnx_adapter</c>): a FlatBuffer with file identifier
/// <c>"TORT"</c> whose root table holds the format version (1), the producer's adapter and model versions, and the
/// parameters (name, dims, element type, raw little-endian bytes). The layout is in <see cref="AdapterSchema"/>.
/// Reading refuses, with an <see cref="OnnxAdapterException"/> naming the parameter and field, every file that ONNX
/// Runtime 1.31.1 refuses and every file it loads but misuses (empty, NUL-holding or repeated names).
/// </summary>
public static class OnnxAdapterFile
{
    /// <summary>The extension ONNX Runtime's tools give adapter files.</summary>
    public const string Extension = ".onnx_adapter";

    /// <summary>Largest file read: a FlatBuffer cannot exceed 2 GiB.</summary>
    public const long MaxFileBytes = int.MaxValue;

    /// <summary>Writes <paramref name="adapter"/> to <paramref name="path"/> atomically (a reader never sees a torn file).</summary>
    public static void Write(string path, OnnxAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = ToBytes(adapter);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Writes <paramref name="adapter"/> to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, OnnxAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(ToBytes(adapter));
    }

    /// <summary>The file's bytes, as <c>OrtLoraAdapter.Create(byte[], null)</c> takes them.</summary>
    public static byte[] ToBytes(OnnxAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        var parameters = adapter.Parameters
            .Select(p => new AdapterFlatBufferWriter.RawParameter(p.Name, [.. p.Dims], p.DataType, p.Data))
            .ToList();
        return AdapterFlatBufferWriter.Build(parameters, AdapterSchema.FormatVersion, adapter.AdapterVersion, adapter.ModelVersion);
    }

    /// <summary>Reads and validates the file at <paramref name="path"/>.</summary>
    /// <exception cref="OnnxAdapterException">The file is missing, unreadable, malformed, or of another version.</exception>
    public static OnnxAdapter Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new OnnxAdapterException(path, "file not found. Check the path.");
        byte[] bytes;
        try
        {
            long length = new FileInfo(path).Length;
            if (length > MaxFileBytes)
                throw new OnnxAdapterException(path, $"is {length} bytes; an adapter file cannot exceed 2 GiB.");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxAdapterException(path, $"cannot be read: {e.Message}", e);
        }
        return Read(bytes, path);
    }

    /// <summary>Reads and validates a file's bytes; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="OnnxAdapterException">The bytes are malformed or of another version.</exception>
    public static OnnxAdapter Read(ReadOnlySpan<byte> bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return AdapterFlatBufferReader.Read(bytes, source);
    }
}
