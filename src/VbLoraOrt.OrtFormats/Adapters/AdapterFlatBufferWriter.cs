using System.Runtime.InteropServices;
using Google.FlatBuffers;
using static VbLoraOrt.OrtFormats.Adapters.AdapterSchema;

namespace VbLoraOrt.OrtFormats.Adapters;

/// <summary>
/// Builds adapter buffers with Google.FlatBuffers, written by hand in the shape <c>flatc --csharp</c> generates from
/// the schema in <see cref="AdapterSchema"/>: children (strings, vectors, tables) are finished before the table that
/// points at them, and the root is finished with the file identifier.
/// </summary>
/// <remarks>
/// It writes exactly what it is given, unchecked: <see cref="OnnxAdapterFile"/> passes only validated adapters, and the
/// tests build malformed files (missing fields, wrong lengths, duplicate names, other versions) through the same code.
/// </remarks>
static class AdapterFlatBufferWriter
{
    /// <summary>One parameter as it goes into the buffer; a null field is left out of the table.</summary>
    internal sealed record RawParameter(string? Name, long[]? Dims, int DataType, ReadOnlyMemory<byte>? RawData);

    /// <summary>The whole file. <paramref name="parameters"/> null leaves the <c>parameters</c> field out.</summary>
    public static byte[] Build(IReadOnlyList<RawParameter>? parameters, int formatVersion, int adapterVersion, int modelVersion)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("adapter files are written on little-endian machines only.");
        long payload = parameters?.Sum(p => 64L + 3L * (p.Name?.Length ?? 0) + 8L * (p.Dims?.Length ?? 0) + (p.RawData?.Length ?? 0)) ?? 0;
        var builder = new FlatBufferBuilder((int)Math.Clamp(payload + 256, 1024, Array.MaxLength));

        int parametersVector = 0;
        if (parameters != null)
        {
            var tables = new int[parameters.Count];
            for (int i = 0; i < tables.Length; i++)
                tables[i] = CreateParameter(builder, parameters[i]);
            parametersVector = CreateParametersVector(builder, tables);
        }
        int adapter = CreateAdapter(builder, formatVersion, adapterVersion, modelVersion, parametersVector);
        builder.Finish(adapter, FileIdentifier);
        return builder.SizedByteArray();
    }

    // table Parameter: children first, then the table; fields added largest first, as flatc orders them.
    static int CreateParameter(FlatBufferBuilder builder, RawParameter parameter)
    {
        int name = parameter.Name == null ? 0 : builder.CreateString(parameter.Name).Value;
        int dims = parameter.Dims == null ? 0 : CreateDimsVector(builder, parameter.Dims);
        int rawData = parameter.RawData is { } data ? CreateRawDataVector(builder, data) : 0;

        builder.StartTable(ParameterField.Count);
        if (rawData != 0) builder.AddOffset(ParameterField.RawData, rawData, 0);
        builder.AddInt(ParameterField.DataType, parameter.DataType, 0);
        if (dims != 0) builder.AddOffset(ParameterField.Dims, dims, 0);
        if (name != 0) builder.AddOffset(ParameterField.Name, name, 0);
        return builder.EndTable();
    }

    // dims:[int64]: elements are pushed last to first because the builder grows towards the front.
    static int CreateDimsVector(FlatBufferBuilder builder, long[] dims)
    {
        builder.StartVector(sizeof(long), dims.Length, sizeof(long));
        for (int i = dims.Length - 1; i >= 0; i--)
            builder.AddLong(dims[i]);
        return builder.EndVector().Value;
    }

    // raw_data:[uint8] (force_align: 8): the bytes start on an 8-byte boundary of the finished buffer, so ONNX Runtime's
    // tensors laid over them (it maps the file and copies nothing) are aligned for any element type.
    static int CreateRawDataVector(FlatBufferBuilder builder, ReadOnlyMemory<byte> data)
    {
        builder.StartVector(sizeof(byte), data.Length, RawDataAlignment);
        if (data.Length > 0) // ByteBuffer refuses to put an empty array
            builder.Add(MemoryMarshal.TryGetArray(data, out var segment) ? segment : new ArraySegment<byte>(data.ToArray()));
        return builder.EndVector().Value;
    }

    // parameters:[Parameter]: a vector of offsets to the tables.
    static int CreateParametersVector(FlatBufferBuilder builder, int[] tables)
    {
        builder.StartVector(sizeof(int), tables.Length, sizeof(int));
        for (int i = tables.Length - 1; i >= 0; i--)
            builder.AddOffset(tables[i]);
        return builder.EndVector().Value;
    }

    // table Adapter: the versions are written even when 0 only if they differ from the default (flatc's behaviour);
    // a reader gets 0 for an absent field either way.
    static int CreateAdapter(FlatBufferBuilder builder, int formatVersion, int adapterVersion, int modelVersion, int parameters)
    {
        builder.StartTable(AdapterField.Count);
        if (parameters != 0) builder.AddOffset(AdapterField.Parameters, parameters, 0);
        builder.AddInt(AdapterField.ModelVersion, modelVersion, 0);
        builder.AddInt(AdapterField.AdapterVersion, adapterVersion, 0);
        builder.AddInt(AdapterField.FormatVersion, formatVersion, 0);
        return builder.EndTable();
    }
}
