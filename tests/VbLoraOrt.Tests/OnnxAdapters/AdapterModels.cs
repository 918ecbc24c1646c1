using Onnx;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.OnnxAdapters;

/// <summary>Tiny models whose adapter tensors are graph inputs with initializer defaults, and their C# references.</summary>
static class AdapterModels
{
    public const int In = 4, Rank = 2, Out = 3, BankRows = 8, BankWidth = 3;

    public static readonly float[] W = TinyModels.Random(In * Out, seed: 11, scale: 0.5f);
    public static readonly float[] Bank = TinyModels.Random(BankRows * BankWidth, seed: 12);

    /// <summary>
    /// <c>y = x·W + (x·A)·B</c>: x [batch, 4] is fed by the caller, W [4,3] is a constant, A [4,2] and B [2,3] are graph
    /// inputs whose initializers are zero, so without an adapter <c>y = x·W</c>.
    /// </summary>
    public static OnnxModel LowRank(string a = "lora_A", string b = "lora_B")
    {
        var m = TinyModels.NewModel();
        var g = m.Graph;
        g.Input.Add(TinyModels.FloatValue("x", "batch", In));
        g.Input.Add(TinyModels.FloatValue(a, In, Rank));
        g.Input.Add(TinyModels.FloatValue(b, Rank, Out));
        g.Output.Add(TinyModels.FloatValue("y", "batch", Out));
        g.Initializer.Add(Tensors.Float("W", [In, Out], W));
        g.Initializer.Add(Tensors.Float(a, [In, Rank], new float[In * Rank]));
        g.Initializer.Add(Tensors.Float(b, [Rank, Out], new float[Rank * Out]));
        g.Node.Add(TinyModels.Node("MatMul", ["x", "W"], ["base"]));
        g.Node.Add(TinyModels.Node("MatMul", ["x", a], ["xa"]));
        g.Node.Add(TinyModels.Node("MatMul", ["xa", b], ["delta"]));
        g.Node.Add(TinyModels.Node("Add", ["base", "delta"], ["y"]));
        return OnnxModel.FromProto(m);
    }

    /// <summary>Independent reference of <see cref="LowRank"/> in double: x [batch,4], A [4,2], B [2,3].</summary>
    public static float[] LowRankReference(float[] x, float[] a, float[] b)
    {
        int batch = x.Length / In;
        var y = new float[batch * Out];
        for (int n = 0; n < batch; n++)
            for (int j = 0; j < Out; j++)
            {
                double sum = 0;
                for (int i = 0; i < In; i++)
                    sum += (double)x[n * In + i] * W[i * Out + j];
                for (int k = 0; k < Rank; k++)
                {
                    double xa = 0;
                    for (int i = 0; i < In; i++)
                        xa += (double)x[n * In + i] * a[i * Rank + k];
                    sum += xa * b[k * Out + j];
                }
                y[n * Out + j] = (float)sum;
            }
        return y;
    }

    /// <summary>
    /// Rows of a constant bank [8,3] picked by indices of three integer types, each a graph input [2] with a default:
    /// <c>rows_i64 = Gather(bank, idx_i64)</c>, <c>rows_u8 = Gather(bank, Cast(idx_u8))</c>, <c>rows_i16 = Gather(bank, Cast(idx_i16))</c>
    /// (Gather takes int32/int64 indices only, so the narrow types are widened in the graph).
    /// </summary>
    public static OnnxModel IndexedBank()
    {
        var m = TinyModels.NewModel();
        var g = m.Graph;
        var inputs = new (string Name, TensorProto.Types.DataType Type, TensorProto Default)[]
        {
            ("idx_i64", TensorProto.Types.DataType.Int64, Tensors.Int64("idx_i64", [2], [0, 1])),
            ("idx_u8", TensorProto.Types.DataType.Uint8, Narrow("idx_u8", TensorProto.Types.DataType.Uint8, [0, 0])),
            ("idx_i16", TensorProto.Types.DataType.Int16, Narrow("idx_i16", TensorProto.Types.DataType.Int16, [0, 0, 0, 0])),
        };
        g.Initializer.Add(Tensors.Float("bank", [BankRows, BankWidth], Bank));
        foreach (var (name, type, initial) in inputs)
        {
            string suffix = name["idx_".Length..];
            g.Input.Add(TinyModels.Value(name, (int)type, 2));
            g.Initializer.Add(initial);
            string indices = name;
            if (type != TensorProto.Types.DataType.Int64)
            {
                indices = $"{name}_wide";
                g.Node.Add(TinyModels.Node("Cast", [name], [indices], null,
                    new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Int64 }));
            }
            g.Node.Add(TinyModels.Node("Gather", ["bank", indices], [$"rows_{suffix}"]));
            g.Output.Add(TinyModels.FloatValue($"rows_{suffix}", 2, BankWidth));
        }
        return OnnxModel.FromProto(m);
    }

    static TensorProto Narrow(string name, TensorProto.Types.DataType type, byte[] bytes)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = Google.Protobuf.ByteString.CopyFrom(bytes) };
        t.Dims.Add(2);
        return t;
    }

    /// <summary>Rows <paramref name="indices"/> of <see cref="Bank"/>, flattened.</summary>
    public static float[] BankRowsAt(IEnumerable<long> indices) =>
        indices.SelectMany(i => Bank.Skip((int)i * BankWidth).Take(BankWidth)).ToArray();

    /// <summary>
    /// <c>y = Gather(big, [0])</c> for a float input big [n] without a default: a run reads one element of it, so its
    /// time shows whether the tensor is copied on the way in.
    /// </summary>
    public static OnnxModel FirstElement()
    {
        var m = TinyModels.NewModel();
        var g = m.Graph;
        g.Input.Add(TinyModels.FloatValue("big", "n"));
        g.Output.Add(TinyModels.FloatValue("y", 1));
        g.Initializer.Add(Tensors.Int64("first", [1], [0]));
        g.Node.Add(TinyModels.Node("Gather", ["big", "first"], ["y"]));
        return OnnxModel.FromProto(m);
    }
}
