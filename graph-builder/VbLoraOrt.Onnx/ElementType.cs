using Onnx;

namespace VbLoraOrt.Onnx;

/// <summary>Facts about ONNX tensor element types (<see cref="TensorProto.Types.DataType"/>).</summary>
public static class ElementType
{
    /// <summary>Bytes per element, or 0 for types without a fixed width (string) or sub-byte widths.</summary>
    public static int SizeOf(int dataType) => (TensorProto.Types.DataType)dataType switch
    {
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
        TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64
            or TensorProto.Types.DataType.Complex64 => 8,
        TensorProto.Types.DataType.Complex128 => 16,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Int16
            or TensorProto.Types.DataType.Uint16 => 2,
        TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Bool
            or TensorProto.Types.DataType.Float8E4M3Fn or TensorProto.Types.DataType.Float8E4M3Fnuz
            or TensorProto.Types.DataType.Float8E5M2 or TensorProto.Types.DataType.Float8E5M2Fnuz => 1,
        _ => 0,
    };

    /// <summary>Human-readable name (<c>FLOAT</c>, <c>INT64</c>…).</summary>
    public static string Name(int dataType) =>
        Enum.IsDefined(typeof(TensorProto.Types.DataType), dataType)
            ? ((TensorProto.Types.DataType)dataType).ToString().ToUpperInvariant()
            : $"type {dataType}";

    /// <summary>True for float, double, float16 and bfloat16: the types gradients flow through.</summary>
    public static bool IsFloating(int dataType) => (TensorProto.Types.DataType)dataType is
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double
        or TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16;

    /// <summary>Product of dims, checked for overflow and negative dims.</summary>
    public static long ElementCount(IEnumerable<long> dims)
    {
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0)
                throw new ArgumentOutOfRangeException(nameof(dims), d, "tensor dimensions must be non-negative");
            count = checked(count * d);
        }
        return count;
    }
}
