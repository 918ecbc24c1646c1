using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace VbLoraOrt.Onnx;

/// <summary>Creates <see cref="TensorProto"/>s from managed arrays (always as raw little-endian bytes).</summary>
public static class Tensors
{
    /// <summary>A float tensor.</summary>
    public static TensorProto Float(string name, long[] dims, ReadOnlySpan<float> values) =>
        Make(name, dims, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values));

    /// <summary>A double tensor.</summary>
    public static TensorProto Double(string name, long[] dims, ReadOnlySpan<double> values) =>
        Make(name, dims, TensorProto.Types.DataType.Double, MemoryMarshal.AsBytes(values));

    /// <summary>An int64 tensor.</summary>
    public static TensorProto Int64(string name, long[] dims, ReadOnlySpan<long> values) =>
        Make(name, dims, TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(values));

    /// <summary>A 1-D int64 tensor (shapes, axes).</summary>
    public static TensorProto Int64Vector(string name, params long[] values) => Int64(name, [values.Length], values);

    /// <summary>A scalar of the given floating type holding <paramref name="value"/>.</summary>
    public static TensorProto Scalar(string name, int dataType, double value) => (TensorProto.Types.DataType)dataType switch
    {
        TensorProto.Types.DataType.Float => Float(name, [], [(float)value]),
        TensorProto.Types.DataType.Double => Double(name, [], [value]),
        TensorProto.Types.DataType.Int64 => Int64(name, [], [(long)value]),
        _ => throw new NotSupportedException($"scalar constants of type {ElementType.Name(dataType)} are not supported"),
    };

    static TensorProto Make(string name, long[] dims, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes)
    {
        long count = ElementType.ElementCount(dims);
        if (count * ElementType.SizeOf((int)type) != bytes.Length)
            throw new ArgumentException($"tensor '{name}': {bytes.Length} bytes do not fill shape [{string.Join(",", dims)}] of {type}");
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }
}
