using Onnx;

namespace VbLoraOrt.Onnx;

/// <summary>Creates <see cref="ValueInfoProto"/>s for graph inputs and outputs.</summary>
public static class ValueInfos
{
    /// <summary>A tensor value; each dim is a number (fixed) or a string (symbolic, e.g. <c>"batch"</c>).</summary>
    public static ValueInfoProto Tensor(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object d in dims)
            shape.Dim.Add(d is string s
                ? new TensorShapeProto.Types.Dimension { DimParam = s }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>A float tensor value.</summary>
    public static ValueInfoProto Float(string name, params object[] dims) => Tensor(name, TensorProto.Types.DataType.Float, dims);
}
