using DataType = Onnx.TensorProto.Types.DataType;
using Onnx;
using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// Ops that pick elements by index: Gather, GatherElements, ScatterElements, ScatterND, TopK, Trilu. ORT's
/// GatherGrad is training-only, so a gather's gradient is a scatter-add in standard ops: with constant indices
/// a gather of gradient rows by a precomputed index table and a sum (exact, O(N), any opset); with run-time
/// indices <c>ScatterND</c> / <c>ScatterElements</c> with <c>reduction="add"</c> from opset 16, and before that
/// a one-hot matrix product (which sums repeated indices correctly). Indices never get gradients.
/// </summary>
internal static class IndexingRules
{
    const int Int64 = (int)DataType.Int64;

    // y = data[..., idx, ...] along axis a:  ddata[..., j, ...] = Σ_{n: idx[n] = j} g[..., n, ...]
    public static string?[] Gather(GradientContext c)
    {
        var b = c.B;
        string data = c.Input(0);
        int rank = c.RankOf(data);
        int axis = (int)BackwardBuilder.Normalize(c.Int("axis", 0), rank);
        if (ConstantIndexTable(c, data, axis) is { } table)
        {
            var result = c.NoGradients();
            result[0] = SumRowsByTable(c, data, axis, table);
            return result;
        }
        string indices = NonNegativeIndices(c, c.Input(1), data, axis);
        string dData;
        if (c.Opset >= 16 && axis == 0)
        {
            dData = b.Op("ScatterND", [b.ZerosLike(data, c.GradType), b.Unsqueeze(indices, [-1]), c.Grad],
                Attr.String("reduction", "add"));
        }
        else
        {
            string flat = b.Reshape(indices, b.Int64s(-1));                                         // [N]
            string oneHot = b.Cast(b.Op("Equal", [b.Unsqueeze(Positions(c, data, axis), [1]), b.Unsqueeze(flat, [0])]), c.GradType); // [Da, N]
            string g2 = b.Reshape(c.Grad, RowsByIndex(c, data, axis));                             // [d0..d(a−1), N, Q]
            dData = b.ReshapeLike(b.MatMul(oneHot, g2), data);                                      // [d0..d(a−1), Da, Q] → data
        }
        var grads = c.NoGradients();
        grads[0] = dData;
        return grads;
    }

    /// <summary>
    /// For constant indices (Uni-LoRA's projection, fixed position ids): row j of the table lists the positions n
    /// with idx[n] = j, padded with N (a zero row appended to the gradient). Null when the indices are computed at
    /// run time, the axis size is unknown, or repeats are so uneven that the padded table would be large.
    /// </summary>
    static long[,]? ConstantIndexTable(GradientContext c, string data, int axis)
    {
        if (c.B.Constants.Integers(c.Input(1)) is not { Length: > 0 } indices || c.ShapeOf(data)![axis].Value is not long size)
            return null;
        var rows = new List<long>[size];
        for (int j = 0; j < size; j++)
            rows[j] = [];
        for (int n = 0; n < indices.Length; n++)
        {
            long j = indices[n] < 0 ? indices[n] + size : indices[n];
            if (j < 0 || j >= size)
                throw c.Fail($"index {indices[n]} at position {n} is out of range for axis {axis} of size {size}");
            rows[j].Add(n);
        }
        int width = rows.Max(r => r.Count);
        if (size * width > 4L * (indices.Length + size))
            return null;
        var table = new long[size, width];
        for (int j = 0; j < size; j++)
            for (int k = 0; k < width; k++)
                table[j, k] = k < rows[j].Count ? rows[j][k] : indices.Length;
        return table;
    }

    // ddata = Σ_k [g; 0][table[:, k]]: a gather of the gradient rows and a sum over the table's width.
    static string SumRowsByTable(GradientContext c, string data, int axis, long[,] table)
    {
        var b = c.B;
        int size = table.GetLength(0), width = table.GetLength(1);
        string rows = b.Reshape(c.Grad, RowsByIndex(c, data, axis));                 // [d0..d(a−1), N, Q]
        var pads = new long[2 * (axis + 2)];
        pads[axis + 2 + axis] = 1;                                                    // one zero row after the last
        string padded = b.Op("Pad", [rows, b.Int64s(pads)]);                          // [d0..d(a−1), N + 1, Q]
        long[] flat = table.Cast<long>().ToArray();
        string positions = b.Constant(Tensors.Int64("", width == 1 ? [size] : [size, width], flat), "rows_by_index");
        string picked = b.Op("Gather", [padded, positions], Attr.Int("axis", axis));  // [d0..d(a−1), Da, (width,) Q]
        string summed = width == 1 ? picked : b.ReduceSum(picked, [axis + 1], keepDims: false);
        return b.ReshapeLike(summed, data);
    }

    // Shape [d0 … d(a−1), N, Q] for the gathered gradient, Q = product of the dims after the axis.
    static string RowsByIndex(GradientContext c, string data, int axis)
    {
        var b = c.B;
        var shape = c.ShapeOf(data)!;
        var tail = shape.Skip(axis + 1).ToList();
        long? q = tail.All(d => d.IsStatic) ? tail.Aggregate(1L, (p, d) => p * d.Value!.Value) : null;
        var parts = new List<string>();
        if (axis > 0)
            parts.Add(shape.Take(axis).All(d => d.IsStatic)
                ? b.Int64s(shape.Take(axis).Select(d => d.Value!.Value).ToArray())
                : b.Op("Slice", [b.ShapeOf(data), b.Int64s(0), b.Int64s(axis), b.Int64s(0)]));
        parts.Add(q is long known ? b.Int64s(-1, known) : b.Concat([b.Reshape(b.SizeOf(c.Input(1)), b.Int64s(1)), b.Int64s(-1)], 0));
        return parts.Count == 1 ? parts[0] : b.Concat(parts, 0);
    }

    // 0 … size(data, axis) − 1 as int64 [Da].
    static string Positions(GradientContext c, string data, int axis)
    {
        var b = c.B;
        string size = b.Reshape(b.DimOf(data, axis), b.Int64s());
        return b.Op("Range", [b.Int64Scalar(0), size, b.Int64Scalar(1)]);
    }

    // Indices as int64 with negatives wrapped (constant non-negative indices are used as they are).
    static string NonNegativeIndices(GradientContext c, string indices, string data, int axis)
    {
        var b = c.B;
        string asInt64 = c.ElemType(indices) == Int64 ? indices : b.Cast(indices, Int64);
        if (b.Constants.Integers(indices) is { } constant && constant.All(i => i >= 0))
            return asInt64;
        string size = b.Reshape(b.DimOf(data, axis), b.Int64s());
        return b.Where(b.Op("Less", [asInt64, b.Int64Scalar(0)]), b.Add(asInt64, size), asInt64);
    }

    // y[i][j] = data[i][idx[i][j]] (axis 1):  ddata = scatter-add of g at idx
    public static string?[] GatherElements(GradientContext c)
    {
        var b = c.B;
        string data = c.Input(0), idx = c.Input(1);
        int rank = c.RankOf(data);
        int axis = (int)BackwardBuilder.Normalize(c.Int("axis", 0), rank);
        var grads = c.NoGradients();
        bool oneIndexPerRow = c.ShapeOf(idx) is { } s && s[axis].IsOne; // no index can repeat along the axis
        if (c.Opset >= 16 || oneIndexPerRow)
        {
            var reduction = c.Opset >= 16 ? new[] { Attr.String("reduction", "add") } : [];
            grads[0] = b.Op("ScatterElements", [b.ZerosLike(data, c.GradType), idx, c.Grad], [Attr.Int("axis", axis), .. reduction]);
            return grads;
        }
        // One-hot along a new last axis: [..., n, ..., Da], weight by g, sum over n, move Da into the axis.
        string indices = NonNegativeIndices(c, idx, data, axis);
        string oneHot = b.Cast(b.Op("Equal", [b.Unsqueeze(indices, [rank]), Positions(c, data, axis)]), c.GradType);
        string summed = b.ReduceSum(b.Mul(b.Unsqueeze(c.Grad, [rank]), oneHot), [axis], keepDims: true);
        var perm = Enumerable.Range(0, rank + 1).Select(i => (long)(i == axis ? rank : i == rank ? axis : i)).ToArray();
        grads[0] = b.Squeeze(b.TransposeGrad(summed, perm), [rank]);
        return grads;
    }

    public static string? ScatterReductionGuard(NodeProto node) =>
        Attr.GetString(node, "reduction", "none") is "none" or "add"
            ? null
            : $"reduction '{Attr.GetString(node, "reduction", "none")}' has no gradient rule (only 'none' and 'add' do)";

    // y = data with y[idx] (op)= updates:  dupdates = g[idx];  ddata = g, zeroed where overwritten (none) or g (add)
    public static string?[] ScatterElements(GradientContext c) => Scatter(c, "ScatterElements", "GatherElements",
        [Attr.Int("axis", c.Int("axis", 0))]);

    public static string?[] ScatterND(GradientContext c) => Scatter(c, "ScatterND", "GatherND", []);

    static string?[] Scatter(GradientContext c, string scatter, string gather, AttributeProto[] axis)
    {
        var b = c.B;
        bool add = Attr.GetString(c.Node, "reduction", "none") == "add";
        var grads = c.NoGradients();
        if (c.Wants(0))
            grads[0] = add ? c.Grad : b.Op(scatter, [c.Grad, c.Input(1), b.ZerosLike(c.Input(2), c.GradType)], axis);
        if (c.Wants(2))
            grads[2] = b.Op(gather, [c.Grad, c.Input(1)], axis);
        return grads;
    }

    // values, indices = TopK(x): dx = zeros with the values' gradient at the indices (indices are distinct).
    public static string?[] TopK(GradientContext c)
    {
        var b = c.B;
        var grads = c.NoGradients();
        string g = c.OutputGrad(0) ?? throw c.Fail("only the indices output is used, which has no gradient");
        grads[0] = b.Op("ScatterElements", [b.ZerosLike(c.Input(0), c.GradType), c.Output(1), g],
            Attr.Int("axis", c.Int("axis", -1)));
        return grads;
    }

    // Trilu keeps a triangle: the gradient is the same triangle of g.
    public static string?[] Trilu(GradientContext c)
    {
        var grads = c.NoGradients();
        var inputs = c.HasInput(1) ? new[] { c.Grad, c.Input(1) } : [c.Grad];
        grads[0] = c.B.Op("Trilu", inputs, Attr.Int("upper", c.Int("upper", 1)));
        return grads;
    }
}
