using System.Buffers.Binary;
using System.Text;
using VbLoraOrt.Onnx;
using static VbLoraOrt.OrtFormats.Adapters.AdapterSchema;

namespace VbLoraOrt.OrtFormats.Adapters;

/// <summary>
/// Reads an adapter buffer by walking it with bounds checks, so that every refusal can say which field of which
/// parameter is wrong and at which byte. It refuses every file ONNX Runtime 1.31.1 refuses when it loads one
/// (flatbuffers' verification: identifier, every offset, vector and string inside the buffer and aligned, strings
/// NUL-terminated, at most a million tables; then format version 1, a parameters vector, and per parameter a name,
/// at least one dim, raw_data, a supported element type and raw_data of exactly Π dims × element size), and also the
/// files ONNX Runtime loads but misuses: an empty name (every run then fails), a name holding a NUL (ONNX Runtime cuts
/// the name there and feeds the shorter one) and a repeated name (it silently keeps the first).
/// </summary>
/// <remarks>
/// Google.FlatBuffers' C# <c>Verifier</c> is not used: in 25.2.10 it ignores a non-empty file identifier, and it
/// computes a vtable's position as a 16-bit number, so past 32 KiB it prints an exception to the console and treats
/// the fields as absent.
/// </remarks>
static class AdapterFlatBufferReader
{
    /// <summary>The C++ verifier's default table limit (1,000,000) counts the root table too.</summary>
    public const int MaxParameters = 999_999;

    const int MaxBufferBytes = int.MaxValue; // FLATBUFFERS_MAX_BUFFER_SIZE: ONNX Runtime's verifier refuses larger
    const int HeaderBytes = 8;               // root offset (u32) + file identifier
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static OnnxAdapter Read(ReadOnlySpan<byte> buffer, string source)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("adapter files are read on little-endian machines only.");
        if (buffer.Length <= HeaderBytes)
            throw new OnnxAdapterException(source,
                $"is {buffer.Length} bytes long: too short for an adapter file (ONNX Runtime needs more than {HeaderBytes}). The file is truncated or empty.");
        var identifier = buffer.Slice(4, 4);
        if (!identifier.SequenceEqual(Encoding.ASCII.GetBytes(FileIdentifier)))
            throw new OnnxAdapterException(source,
                $"is not an ONNX Runtime adapter file: bytes 4-7 are {Printable(identifier)}, not \"{FileIdentifier}\".");

        var cursor = new Cursor(buffer, source);
        var adapter = cursor.Table(cursor.Follow(0, "the root offset"), "table Adapter");
        int formatVersion = cursor.Int32(adapter, AdapterField.FormatVersion, "format_version");
        if (formatVersion != FormatVersion)
            throw new OnnxAdapterException(source,
                $"has format_version {formatVersion}; ONNX Runtime 1.31 reads version {FormatVersion} only. Write the adapter again with this program.");
        int adapterVersion = cursor.Int32(adapter, AdapterField.AdapterVersion, "adapter_version");
        int modelVersion = cursor.Int32(adapter, AdapterField.ModelVersion, "model_version");

        var (start, count) = cursor.Vector(adapter, AdapterField.Parameters, sizeof(uint), "parameters")
            ?? throw new OnnxAdapterException(source, "has no parameters vector (ONNX Runtime refuses it: \"Params absent\").");
        if (count > MaxParameters)
            throw cursor.Malformed(start, "parameters", $"declares {count} parameters, more than the verifier's limit of {MaxParameters}");

        var parameters = new List<OnnxAdapterParameter>(Math.Min(count, 1024));
        var firstIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            var table = cursor.Table(cursor.Follow(start + 4 * i, $"parameters[{i}]"), $"parameters[{i}]");
            var parameter = ReadParameter(ref cursor, table, i);
            if (!firstIndex.TryAdd(parameter.Name, i))
                throw new OnnxAdapterException(source,
                    $"parameters[{firstIndex[parameter.Name]}] and parameters[{i}] are both named '{parameter.Name}' " +
                    "(ONNX Runtime would silently use the first). Each graph input is fed once: write the adapter again.");
            parameters.Add(parameter);
        }
        return new OnnxAdapter(parameters, adapterVersion, modelVersion);
    }

    static OnnxAdapterParameter ReadParameter(ref Cursor cursor, in TableRef table, int index)
    {
        string label = $"parameters[{index}]";
        string name = cursor.String(table, ParameterField.Name, $"{label} name")
            ?? throw cursor.Refused($"{label} has no name; it must name the graph input it feeds.");
        if (name.Length == 0 || name.Contains('\0'))
            throw cursor.Refused($"{label} has name {Printable(Encoding.UTF8.GetBytes(name))}; a parameter name must be a non-empty graph input name " +
                                 "without NUL characters (ONNX Runtime would feed the name cut at the first NUL).");
        label = $"parameter '{name}' ({label})";

        var (dimsStart, rank) = cursor.Vector(table, ParameterField.Dims, sizeof(long), $"{label} dims")
            ?? throw cursor.Refused($"{label} has no dims field.");
        if (rank == 0)
            throw cursor.Refused($"{label} has no dims: ONNX Runtime refuses scalar parameters (\"dims is missing or empty\"); store it as shape [1].");
        var dims = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            dims[d] = cursor.Int64At(dimsStart + 8 * d);
            if (dims[d] < 0)
                throw cursor.Malformed(dimsStart + 8 * d, $"{label} dims[{d}]", $"is negative ({dims[d]})");
        }

        int dataType = cursor.Int32(table, ParameterField.DataType, $"{label} data_type");
        int elementSize = StorableElementSize(dataType);
        if (elementSize == 0)
            throw cursor.Refused($"{label} has data_type {VbLoraOrt.Onnx.ElementType.Name(dataType)}, which ONNX Runtime does not load as an " +
                                 "adapter parameter (it loads numeric types only: not BOOL, STRING or complex).");

        var (dataStart, dataLength) = cursor.Vector(table, ParameterField.RawData, sizeof(byte), $"{label} raw_data")
            ?? throw cursor.Refused($"{label} has no raw_data field.");
        string shape = $"[{string.Join(",", dims)}]";
        // Division before multiplication: a forged dim can neither overflow nor pass.
        long budget = dataLength / elementSize, count = 1;
        foreach (long d in dims)
        {
            if (d != 0 && count > budget / d) { count = -1; break; }
            count *= d;
        }
        if (count < 0 || count * elementSize != dataLength)
            throw cursor.Refused(
                $"{label} has shape {shape} of {VbLoraOrt.Onnx.ElementType.Name(dataType)} ({elementSize} bytes each) but {dataLength} bytes of raw_data; " +
                "ONNX Runtime refuses the file. It is corrupted or was written wrongly.");
        return OnnxAdapterParameter.Create(name, dims, dataType, cursor.Bytes(dataStart, dataLength));
    }

    static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder("\"");
        foreach (byte b in bytes)
            text.Append(b is >= 0x20 and < 0x7F and not (byte)'"' ? ((char)b).ToString() : $"\\x{b:X2}");
        return text.Append('"').ToString();
    }

    /// <summary>A table found in the buffer: where it starts, its vtable, and how many bytes each holds.</summary>
    readonly record struct TableRef(int Position, int VTable, int VTableBytes, int InlineBytes, string Label);

    /// <summary>Bounds-checked reads over the buffer; errors give the byte offset and the field.</summary>
    ref struct Cursor(ReadOnlySpan<byte> buffer, string source)
    {
        readonly ReadOnlySpan<byte> _buffer = buffer;
        int _tables;

        public readonly OnnxAdapterException Malformed(long offset, string what, string problem) =>
            new(source, $"is malformed at byte {offset}: {what} {problem}. The file is truncated or corrupted; write it again.");

        public readonly OnnxAdapterException Refused(string problem) => new(source, problem);

        readonly void Need(long offset, long bytes, int alignment, string what)
        {
            if (offset < 0 || bytes > _buffer.Length || offset > _buffer.Length - bytes)
                throw Malformed(offset, what, $"needs {bytes} bytes there; the file has {_buffer.Length}");
            if (offset % alignment != 0)
                throw Malformed(offset, what, $"is not aligned to {alignment} bytes");
        }

        /// <summary>Follows the uoffset stored at <paramref name="at"/> (C++ <c>VerifyOffset</c>).</summary>
        public readonly int Follow(long at, string what)
        {
            Need(at, sizeof(uint), sizeof(uint), what);
            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(_buffer[(int)at..]);
            if (offset == 0 || offset > MaxBufferBytes)
                throw Malformed(at, what, $"holds offset {offset}, which points nowhere");
            long target = at + offset;
            Need(target, 1, 1, what);
            return (int)target;
        }

        /// <summary>Checks a table's start and its vtable (C++ <c>VerifyTableStart</c>), and the table's own bytes.</summary>
        public TableRef Table(int position, string what)
        {
            if (++_tables > MaxParameters + 1)
                throw Malformed(position, what, $"is table number {_tables}, more than the verifier's limit");
            Need(position, sizeof(int), sizeof(int), what);
            long vtable = position - (long)BinaryPrimitives.ReadInt32LittleEndian(_buffer[position..]);
            Need(vtable, sizeof(ushort) * 2, sizeof(ushort), $"{what} vtable");
            int vtableBytes = BinaryPrimitives.ReadUInt16LittleEndian(_buffer[(int)vtable..]);
            int inlineBytes = BinaryPrimitives.ReadUInt16LittleEndian(_buffer[((int)vtable + 2)..]);
            if (vtableBytes < 4 || vtableBytes % 2 != 0)
                throw Malformed(vtable, $"{what} vtable", $"declares {vtableBytes} bytes; a vtable is an even number of bytes, at least 4");
            Need(vtable, vtableBytes, sizeof(ushort), $"{what} vtable");
            if (inlineBytes < sizeof(int))
                throw Malformed(vtable, $"{what} vtable", $"declares a {inlineBytes}-byte table; a table holds at least its 4-byte vtable offset");
            Need(position, inlineBytes, sizeof(int), what);
            return new TableRef(position, (int)vtable, vtableBytes, inlineBytes, what);
        }

        /// <summary>Where field <paramref name="id"/> of <paramref name="table"/> is, or -1 when it is absent.</summary>
        readonly int Field(in TableRef table, int id, int width, string what)
        {
            int slot = 4 + 2 * id;
            if (slot + 2 > table.VTableBytes)
                return -1;
            int offset = BinaryPrimitives.ReadUInt16LittleEndian(_buffer[(table.VTable + slot)..]);
            if (offset == 0)
                return -1;
            if (offset + width > table.InlineBytes)
                throw Malformed(table.Position + offset, what, $"lies outside its {table.InlineBytes}-byte table");
            Need(table.Position + offset, width, width, what);
            return table.Position + offset;
        }

        /// <summary>An int32 field, 0 when absent (the schema's default).</summary>
        public readonly int Int32(in TableRef table, int id, string what)
        {
            int at = Field(table, id, sizeof(int), what);
            return at < 0 ? 0 : BinaryPrimitives.ReadInt32LittleEndian(_buffer[at..]);
        }

        /// <summary>A vector field's first element and length, null when absent (C++ <c>VerifyVector</c>).</summary>
        public readonly (int Start, int Count)? Vector(in TableRef table, int id, int elementSize, string what)
        {
            int at = Field(table, id, sizeof(uint), what);
            if (at < 0)
                return null;
            int vector = Follow(at, what);
            Need(vector, sizeof(uint), sizeof(uint), $"{what} length");
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(_buffer[vector..]);
            if (count >= MaxBufferBytes / elementSize)
                throw Malformed(vector, what, $"declares {count} elements, more than any buffer holds");
            Need(vector + sizeof(uint), (long)count * elementSize, 1, what);
            return (vector + sizeof(uint), (int)count);
        }

        /// <summary>A string field (NUL-terminated, valid UTF-8), null when absent.</summary>
        public readonly string? String(in TableRef table, int id, string what)
        {
            if (Vector(table, id, sizeof(byte), what) is not var (start, length))
                return null;
            Need(start + length, 1, 1, $"{what} terminator");
            if (_buffer[start + length] != 0)
                throw Malformed(start + length, what, "is not NUL-terminated");
            try
            {
                return StrictUtf8.GetString(_buffer.Slice(start, length));
            }
            catch (DecoderFallbackException)
            {
                throw Malformed(start, what, "is not valid UTF-8");
            }
        }

        public readonly long Int64At(int offset) => BinaryPrimitives.ReadInt64LittleEndian(_buffer[offset..]);

        public readonly ReadOnlySpan<byte> Bytes(int start, int length) => _buffer.Slice(start, length);
    }
}
