using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// Ops that move or retype elements without arithmetic: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand,
/// Concat, Split, Slice, Cast. Squeeze/Unsqueeze took their axes as an attribute before opset 13 and as an
/// input after; their gradient reshapes to the input's shape and so needs neither. Slice's gradient is a
/// <c>Pad</c> when the sliced sizes are known, else a scatter into zeros (ORT's SliceGrad is training-only).
/// </summary>
internal static class MovementRules
{
    // Reshape, Flatten, Squeeze, Unsqueeze: same elements, the input's shape.
    // A Reshape to its input's own shape passes the gradient on as it is, a transpose the builder holds back included.
    public static string?[] ReshapeLike(GradientContext c) =>
        OneInput(c, c.B.Facts[c.Input(0)].Rank is int rank && BackwardBuilder.IsSameShapeReshape(c.Node, c.B.Constants, rank) ? c.Grad
            : (c.B.FusionShaped ? LastAxisBackToTokens(c) : null) ?? c.B.ReshapeLike(c.Grad, c.Input(0)));

    // Attention's key and value gradients (DESIGN.md §4.2): they reach the head split [b, t, h·d] → [b, t, h, d] as a
    // transpose of [b, h, d, t] — torch's kᵀ moved t last; dV = (dCᵀ·P)ᵀ composes to the same — so the backward would
    // move t back with (0, 3, 1, 2), a transpose ONNX Runtime materializes on one thread, and then merge. Merging
    // first, [b, h·d, t], leaves a last-two-axes swap, which ONNX Runtime folds into the products that read it (the
    // projection's dx: FusedMatMul transA). Same elements, same order.
    static string? LastAxisBackToTokens(GradientContext c)
    {
        if (c.B.TransposeOf(c.Grad) is not ({ } moved, [0, 3, 1, 2]))
            return null;
        var split = c.ShapeOf(c.Output(0));   // [b, t, h, d]
        var merged = c.ShapeOf(c.Input(0));   // [b, t, h·d]
        if (split is not [var batch, var tokens, { Value: long h }, { Value: long d }] || merged is not [_, _, { Value: long hd }]
            || hd != h * d || !batch.SameAs(merged[0]) || !tokens.SameAs(merged[1]))
            return null;
        return c.B.TransposeGrad(c.B.Reshape(moved, c.B.Int64s(0, hd, -1)), [0, 2, 1]);
    }

    public static string?[] Transpose(GradientContext c)
    {
        long[] perm = Attr.GetInts(c.Node, "perm")
            ?? Enumerable.Range(0, c.RankOf(c.Input(0))).Reverse().Select(i => (long)i).ToArray();
        var inverse = new long[perm.Length];
        for (int i = 0; i < perm.Length; i++)
            inverse[perm[i]] = i;
        return OneInput(c, c.B.TransposeGrad(c.Grad, inverse));
    }

    public static string?[] Expand(GradientContext c) =>
        OneInput(c, c.B.SumToShape(c.Grad, c.ShapeOf(c.Output(0)), c.Input(0)));

    // Back to the input's type; same type is the identity.
    public static string?[] Cast(GradientContext c)
    {
        int from = c.ElemType(c.Input(0));
        return OneInput(c, from == c.GradType ? c.Grad : c.B.Cast(c.Grad, from));
    }

    // Each input's gradient is its slice of the output gradient along the axis.
    public static string?[] Concat(GradientContext c)
    {
        var b = c.B;
        long axis = c.Int("axis", 0);
        var grads = c.NoGradients();
        string? start = null; // run-time offset, when some size before is not a known number
        long staticStart = 0;
        for (int i = 0; i < c.Node.Input.Count; i++)
        {
            string input = c.Input(i);
            long? size = SizeAlong(c, input, axis);
            if (c.Wants(i))
            {
                string begin = start == null ? b.Int64s(staticStart) : start;
                string end = start == null && size is long n ? b.Int64s(staticStart + n) : b.Add(begin, b.DimOf(input, axis));
                grads[i] = b.Op("Slice", [c.Grad, begin, end, b.Int64s(axis)]);
            }
            if (start == null && size is long known)
                staticStart += known;
            else
                start = b.Add(start ?? b.Int64s(staticStart), b.DimOf(input, axis));
        }
        return grads;
    }

    static long? SizeAlong(GradientContext c, string value, long axis)
    {
        var shape = c.ShapeOf(value);
        return shape == null ? null : shape[(int)BackwardBuilder.Normalize(axis, shape.Count)].Value;
    }

    // The input's gradient is the outputs' gradients concatenated; outputs nobody uses contribute zeros.
    public static string?[] Split(GradientContext c)
    {
        var b = c.B;
        int type = c.ElemType(c.Input(0));
        var parts = c.Node.Output.Select((o, i) => c.OutputGrad(i) ?? b.ZerosLike(o, type)).ToList();
        return OneInput(c, b.Concat(parts, c.Int("axis", 0)));
    }

    public static string?[] Slice(GradientContext c) =>
        OneInput(c, StaticPads(c) is { } pads
            ? c.B.Op("Pad", [c.Grad, c.B.Int64s(pads)])
            : ScatterIntoZeros(c));

    // Pads [begin…, end…] when starts/ends/axes are constant, every step is 1 and the sliced sizes are known.
    static long[]? StaticPads(GradientContext c)
    {
        var shape = c.ShapeOf(c.Input(0));
        long[]? starts = c.ConstantInts(1), ends = c.ConstantInts(2);
        long[]? axes = c.HasInput(3) ? c.ConstantInts(3) : starts?.Select((_, i) => (long)i).ToArray();
        long[]? steps = c.HasInput(4) ? c.ConstantInts(4) : starts?.Select(_ => 1L).ToArray();
        if (shape == null || starts == null || ends == null || axes == null || steps == null || steps.Any(s => s != 1))
            return null;
        int rank = shape.Count;
        var pads = new long[2 * rank];
        for (int k = 0; k < axes.Length; k++)
        {
            int a = (int)BackwardBuilder.Normalize(axes[k], rank);
            if (shape[a].Value is not long n)
                return null;
            var (first, count) = OpShapes.SliceRange(starts[k], ends[k], 1, n);
            pads[a] = first;
            pads[rank + a] = n - first - count;
        }
        return pads;
    }

    // dx = flat scatter of g at the positions the slice took: the positions are the same Slice applied to
    // arange(size(x)) shaped like x. Handles any steps, negative indices and run-time bounds.
    static string ScatterIntoZeros(GradientContext c)
    {
        var b = c.B;
        string x = c.Input(0);
        string size = b.SizeOf(x);
        string positions = b.Reshape(b.Op("Range", [b.Int64Scalar(0), size, b.Int64Scalar(1)]), b.ShapeOf(x));
        var sliceInputs = new List<string> { positions };
        sliceInputs.AddRange(c.Node.Input.Skip(1));
        string taken = b.Reshape(b.Op("Slice", sliceInputs), b.Int64s(-1));
        string zeros = b.Filled(b.Reshape(size, b.Int64s(1)), 0, c.GradType);
        string flat = b.Op("ScatterElements", [zeros, taken, b.Reshape(c.Grad, b.Int64s(-1))], Attr.Int("axis", 0));
        return b.ReshapeLike(flat, x);
    }

    static string?[] OneInput(GradientContext c, string grad)
    {
        var grads = c.NoGradients();
        grads[0] = grad;
        return grads;
    }
}
