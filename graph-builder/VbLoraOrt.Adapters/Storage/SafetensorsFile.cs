using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Storage;

/// <summary>One tensor of a safetensors file: dtype code (<c>F32</c>, <c>U8</c>, <c>I16</c>…), shape and raw little-endian bytes.</summary>
/// <param name="Name">Tensor key.</param>
/// <param name="DType">safetensors dtype code.</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="Data">Raw bytes, row-major.</param>
public sealed record SafeTensor(string Name, string DType, long[] Shape, byte[] Data)
{
    /// <summary>An F32 tensor of <paramref name="values"/> (little-endian, as safetensors and every platform .NET runs on here).</summary>
    public static SafeTensor F32(string name, long[] shape, ReadOnlySpan<float> values) =>
        new(name, "F32", shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>The values of an F32 tensor.</summary>
    public float[] Floats() => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Data).ToArray();
}

/// <summary>
/// Reads and writes the safetensors format (8-byte little-endian header size, JSON header with dtype, shape and
/// data offsets per tensor plus optional <c>__metadata__</c> strings, then the data) — the format PEFT adapters use.
/// Reading checks every size and offset before allocating.
/// </summary>
public static class SafetensorsFile
{
    /// <summary>Largest header accepted (the format's reference implementation uses the same limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    static readonly Dictionary<string, int> ElementSizes = new(StringComparer.Ordinal)
    {
        ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1,
        ["U64"] = 8, ["U32"] = 4, ["U16"] = 2, ["U8"] = 1, ["BOOL"] = 1,
    };

    /// <summary>Writes tensors and metadata atomically.</summary>
    public static void Write(string path, IReadOnlyList<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
            header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value))));
        long offset = 0;
        foreach (var t in tensors)
        {
            CheckTensor(t);
            header[t.Name] = new JsonObject
            {
                ["dtype"] = t.DType,
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(offset + t.Data.LongLength)),
            };
            offset += t.Data.LongLength;
        }
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, stream =>
        {
            Span<byte> size = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)padded);
            stream.Write(size);
            stream.Write(json);
            for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var t in tensors) stream.Write(t.Data);
        });
    }

    /// <summary>Reads every tensor and the metadata.</summary>
    /// <exception cref="BadInputException">The file is missing, truncated or malformed (the message says which).</exception>
    public static (IReadOnlyList<SafeTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        if (!File.Exists(path))
            throw new BadInputException($"{path}: adapter file not found.");
        using var stream = File.OpenRead(path);
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw Bad(path, $"is {fileLength} bytes, too short for a safetensors header (truncated?)");
        Span<byte> sizeBytes = stackalloc byte[8];
        stream.ReadExactly(sizeBytes);
        ulong headerSize = BinaryPrimitives.ReadUInt64LittleEndian(sizeBytes);
        if (headerSize > MaxHeaderBytes || (long)headerSize > fileLength - 8)
            throw Bad(path, $"declares a {headerSize}-byte header but the file has {fileLength - 8} bytes after the size field (truncated or not safetensors)");
        var json = new byte[headerSize];
        stream.ReadExactly(json);
        long dataStart = 8 + (long)headerSize, dataLength = fileLength - dataStart;
        if (!System.Text.Unicode.Utf8.IsValid(json))
            throw Bad(path, "header is not valid UTF-8 (corrupted?)");
        JsonObject header;
        try
        {
            header = JsonNode.Parse(json) as JsonObject ?? throw Bad(path, "header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw Bad(path, $"header is not valid JSON ({e.Message})");
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new List<SafeTensor>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                foreach (var (key, value) in node as JsonObject ?? throw Bad(path, "__metadata__ is not an object"))
                    metadata[key] = value is JsonValue v && v.TryGetValue(out string? s) ? s : throw Bad(path, $"metadata '{key}' is not a string");
                continue;
            }
            tensors.Add(ReadTensor(path, stream, name, node, dataStart, dataLength));
        }
        return (tensors, metadata);
    }

    static SafeTensor ReadTensor(string path, FileStream stream, string name, JsonNode? node, long dataStart, long dataLength)
    {
        try
        {
            var entry = node as JsonObject ?? throw Bad(path, $"entry '{name}' is not an object");
            string dtype = entry["dtype"]!.GetValue<string>();
            if (!ElementSizes.TryGetValue(dtype, out int size))
                throw Bad(path, $"tensor '{name}' has unknown dtype '{dtype}'");
            long[] shape = entry["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            long[] offsets = entry["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            if (shape.Any(d => d < 0) || offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength)
                throw Bad(path, $"tensor '{name}' has invalid shape or offsets (data section is {dataLength} bytes; truncated?)");
            long expected = checked(ElementType.ElementCount(shape) * size);
            if (offsets[1] - offsets[0] != expected)
                throw Bad(path, $"tensor '{name}' spans {offsets[1] - offsets[0]} bytes but {dtype}[{string.Join(",", shape)}] needs {expected}");
            var data = new byte[expected];
            stream.Seek(dataStart + offsets[0], SeekOrigin.Begin);
            stream.ReadExactly(data);
            return new SafeTensor(name, dtype, shape, data);
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or OverflowException or ArgumentOutOfRangeException)
        {
            throw Bad(path, $"entry '{name}' is malformed ({e.Message})");
        }
    }

    static void CheckTensor(SafeTensor t)
    {
        if (!ElementSizes.TryGetValue(t.DType, out int size))
            throw new ArgumentException($"tensor '{t.Name}': unknown safetensors dtype '{t.DType}'");
        if (ElementType.ElementCount(t.Shape) * size != t.Data.LongLength)
            throw new ArgumentException($"tensor '{t.Name}': {t.Data.LongLength} bytes do not fill {t.DType}[{string.Join(",", t.Shape)}]");
    }

    static BadInputException Bad(string path, string problem) => new($"{path}: {problem}.");
}
