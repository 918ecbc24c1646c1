using System.Runtime.InteropServices;
using Google.FlatBuffers;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// Builds checkpoint flatbuffers field by field from the schema's field ids (independently of the product's schema
/// code), so tests can make the files ONNX Runtime could meet but the writer never produces: another version or
/// identifier, a missing list, a nominal state, other data types, other optimizer tensors.
/// </summary>
static class RawCheckpoint
{
    public const int Float = 1, Int64 = 7;

    public static int Tensor(FlatBufferBuilder b, string name, long[] dims, float[] values, int dataType = Float, long? externalDataOffset = null)
    {
        var nameOffset = b.CreateString(name);
        b.StartVector(8, dims.Length, 8);
        for (int i = dims.Length - 1; i >= 0; i--) b.AddLong(dims[i]);
        var dimsOffset = b.EndVector();
        byte[] raw = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        b.StartVector(1, raw.Length, 4);
        for (int i = raw.Length - 1; i >= 0; i--) b.AddByte(raw[i]);
        var rawOffset = b.EndVector();
        b.StartTable(7);
        b.AddOffset(0, nameOffset.Value, 0);
        b.AddOffset(2, dimsOffset.Value, 0);
        b.AddInt(3, dataType, 0);
        b.AddOffset(4, rawOffset.Value, 0);
        if (externalDataOffset is { } offset) b.AddLong(6, offset, -1);
        return b.EndTable();
    }

    public static int ModuleState(FlatBufferBuilder b, int[]? trainable, int[]? frozen, bool nominal = false, bool externalData = false)
    {
        int? t = trainable is null ? null : Tables(b, trainable);
        int? f = frozen is null ? null : Tables(b, frozen);
        b.StartTable(4);
        if (t is { } tv) b.AddOffset(0, tv, 0);
        if (f is { } fv) b.AddOffset(1, fv, 0);
        if (nominal) b.AddBool(2, true, false);
        if (externalData) b.AddBool(3, true, false);
        return b.EndTable();
    }

    public static int ParameterState(FlatBufferBuilder b, string parameter, int[] momentums)
    {
        var name = b.CreateString(parameter);
        int vector = Tables(b, momentums);
        b.StartTable(2);
        b.AddOffset(0, name.Value, 0);
        b.AddOffset(1, vector, 0);
        return b.EndTable();
    }

    public static int Group(FlatBufferBuilder b, string? name, long step, float learningRate, int[]? states)
    {
        int? n = name is null ? null : b.CreateString(name).Value;
        int? s = states is null ? null : Tables(b, states);
        b.StartTable(4);
        if (n is { } nv) b.AddOffset(0, nv, 0);
        b.AddLong(1, step, 0);
        b.AddFloat(2, learningRate, 0);
        if (s is { } sv) b.AddOffset(3, sv, 0);
        return b.EndTable();
    }

    public static byte[] Finish(FlatBufferBuilder b, int version, int? moduleState, int[]? groups = null, string identifier = "ODTC")
    {
        int? g = groups is null ? null : Tables(b, groups);
        b.StartTable(4);
        b.AddInt(0, version, 0);
        if (moduleState is { } m) b.AddOffset(1, m, 0);
        if (g is { } gv) b.AddOffset(2, gv, 0);
        b.Finish(b.EndTable(), identifier);
        return b.SizedByteArray();
    }

    /// <summary>A version-2 checkpoint with one trainable tensor <c>w</c> [2,3] and no frozen ones.</summary>
    public static byte[] Minimal(int version = 2, string identifier = "ODTC")
    {
        var b = new FlatBufferBuilder(256);
        int w = Tensor(b, "w", [2, 3], [1, 2, 3, 4, 5, 6]);
        return Finish(b, version, ModuleState(b, [w], []), identifier: identifier);
    }

    static int Tables(FlatBufferBuilder b, int[] tables)
    {
        b.StartVector(4, tables.Length, 4);
        for (int i = tables.Length - 1; i >= 0; i--) b.AddOffset(tables[i]);
        return b.EndVector().Value;
    }
}
