using System.Runtime.InteropServices;
using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.OrtFormats.Adapters;

/// <summary>
/// One tensor of an adapter file: ONNX Runtime feeds it to the graph input of the same <see cref="Name"/> on every run
/// the adapter is active in. Immutable; the bytes are copied in.
/// </summary>
public sealed class OnnxAdapterParameter
{
    readonly long[] _dims;
    readonly byte[] _data;

    OnnxAdapterParameter(string name, long[] dims, int dataType, byte[] data, long elementCount)
    {
        Name = name;
        _dims = dims;
        DataType = dataType;
        _data = data;
        ElementCount = elementCount;
    }

    /// <summary>The graph input this tensor feeds.</summary>
    public string Name { get; }

    /// <summary>The shape: at least one dim (ONNX Runtime refuses scalars: "dims is missing or empty").</summary>
    public IReadOnlyList<long> Dims => _dims;

    /// <summary>The ONNX element type (<see cref="TensorProto.Types.DataType"/> number).</summary>
    public int DataType { get; }

    /// <summary>Product of <see cref="Dims"/>.</summary>
    public long ElementCount { get; }

    /// <summary>The elements as little-endian bytes, row-major.</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>
    /// A tensor from raw little-endian bytes. <paramref name="dataType"/> must be a type ONNX Runtime loads as an
    /// adapter parameter (numeric; not BOOL, STRING or complex), <paramref name="dims"/> at least one dim (a scalar is
    /// shape [1]) and <paramref name="data"/> exactly Π dims × the element size.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or holds a NUL, the shape is empty or has a negative dim,
    /// the type cannot be stored, or the byte count does not fill the shape.</exception>
    public static OnnxAdapterParameter Create(string name, IReadOnlyList<long> dims, int dataType, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(dims);
        if (name.Length == 0)
            throw new ArgumentException("an adapter parameter needs a name: it is the graph input it feeds.", nameof(name));
        // ONNX Runtime hands names to the session as C strings, so a NUL would cut the name short.
        if (name.Contains('\0'))
            throw new ArgumentException($"adapter parameter name '{name.Replace("\0", "\\0")}' holds a NUL character.", nameof(name));
        int elementSize = AdapterSchema.StorableElementSize(dataType);
        if (elementSize == 0)
            throw new ArgumentException(
                $"adapter parameter '{name}': element type {ElementType.Name(dataType)} cannot be stored in an adapter file " +
                "(ONNX Runtime loads numeric types only: not BOOL, STRING or complex).", nameof(dataType));
        if (dims.Count == 0)
            throw new ArgumentException(
                $"adapter parameter '{name}' has no dims; ONNX Runtime refuses scalar parameters: give it shape [1].", nameof(dims));
        long count;
        try
        {
            count = ElementType.ElementCount(dims);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or OverflowException)
        {
            throw new ArgumentException($"adapter parameter '{name}': shape [{string.Join(",", dims)}] is invalid: {e.Message}", nameof(dims), e);
        }
        if (count > data.Length / elementSize || count * elementSize != data.Length)
            throw new ArgumentException(
                $"adapter parameter '{name}': {data.Length} bytes do not fill shape [{string.Join(",", dims)}] of " +
                $"{ElementType.Name(dataType)} ({elementSize} bytes each).", nameof(data));
        return new OnnxAdapterParameter(name, [.. dims], dataType, data.ToArray(), count);
    }

    /// <summary>A float32 tensor.</summary>
    public static OnnxAdapterParameter Float(string name, IReadOnlyList<long> dims, ReadOnlySpan<float> values) =>
        FromValues(name, dims, values);

    /// <summary>
    /// A tensor of a .NET element type that ONNX Runtime loads as an adapter parameter: float, double, Half, sbyte,
    /// byte, short, ushort, int, uint, long or ulong.
    /// </summary>
    public static OnnxAdapterParameter FromValues<T>(string name, IReadOnlyList<long> dims, ReadOnlySpan<T> values) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("adapter files are written on little-endian machines only.");
        return Create(name, dims, DataTypeOf<T>(), MemoryMarshal.AsBytes(values));
    }

    /// <summary>The elements as <typeparamref name="T"/>, which must match <see cref="DataType"/>.</summary>
    /// <exception cref="InvalidOperationException">The tensor holds another element type.</exception>
    public T[] ToArray<T>() where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("adapter files are read on little-endian machines only.");
        int wanted = DataTypeOf<T>();
        if (wanted != DataType)
            throw new InvalidOperationException(
                $"adapter parameter '{Name}' holds {ElementType.Name(DataType)}, not {ElementType.Name(wanted)}.");
        return MemoryMarshal.Cast<byte, T>(_data).ToArray();
    }

    /// <summary>The elements of a FLOAT tensor.</summary>
    public float[] ToFloats() => ToArray<float>();

    /// <summary>The ONNX element type of a .NET type.</summary>
    static int DataTypeOf<T>() where T : unmanaged => (int)(default(T) switch
    {
        float => TensorProto.Types.DataType.Float,
        double => TensorProto.Types.DataType.Double,
        Half => TensorProto.Types.DataType.Float16,
        sbyte => TensorProto.Types.DataType.Int8,
        byte => TensorProto.Types.DataType.Uint8,
        short => TensorProto.Types.DataType.Int16,
        ushort => TensorProto.Types.DataType.Uint16,
        int => TensorProto.Types.DataType.Int32,
        uint => TensorProto.Types.DataType.Uint32,
        long => TensorProto.Types.DataType.Int64,
        ulong => TensorProto.Types.DataType.Uint64,
        _ => throw new NotSupportedException($"{typeof(T).Name} has no ONNX element type; pass raw bytes and a type to Create."),
    });
}
