using Onnx;
using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// MatMul and Gemm. The gradient of an activation is one product with the transposed weight (a Transpose of a
/// constant weight, which ONNX Runtime folds at load); a weight gradient is computed only when the weight is
/// trainable, and for a 2-D weight under a batched activation it is a single Gemm over the flattened batch
/// instead of a batched MatMul plus a reduction.
/// </summary>
internal static class MatMulRules
{
    // y[..., m, n] = a[..., m, k] · b[..., k, n]:  da = g · bᵀ,  db = aᵀ · g  (batch dims summed back)
    public static string?[] MatMul(GradientContext c)
    {
        string a = c.Input(0), bIn = c.Input(1);
        int rankA = c.RankOf(a), rankB = c.RankOf(bIn);
        if (rankA == 1 || rankB == 1)
            return VectorMatMul(c, rankA, rankB);
        var b = c.B;
        var grads = c.NoGradients();
        var y = c.ShapeOf(c.Output(0));
        var sa = c.ShapeOf(a)!;
        var sb = c.ShapeOf(bIn)!;
        if (c.Wants(0))
        {
            string raw = b.MatMul(c.Grad, b.SwapForProduct(bIn, rankB));
            grads[0] = b.SumToShape(raw, WithLast(y, sb[^2]), a);
        }
        if (c.Wants(1))
        {
            bool narrowGradient = TransposeGradient(sa, y);
            if (rankB == 2)
            {
                // Every batch row meets the same weight: flatten the batch and contract it in one Gemm.
                string a2 = rankA == 2 ? a : b.Flatten(a, rankA - 1);
                string g2 = rankA == 2 ? c.Grad : b.Op("Flatten", [c.Grad], Attr.Int("axis", rankA - 1));
                grads[1] = FlatWeightGradient(c, a2, g2, narrowGradient);
            }
            else
            {
                // Batched (attention's dV = Pᵀ·dC): transpose whichever side moves fewer elements.
                string raw = narrowGradient
                    ? b.TransposeGrad(b.MatMul(b.SwapGradientForProduct(c.Grad, y!.Count), a), BackwardBuilder.SwapLastTwo(y.Count))
                    : b.MatMul(b.SwapForProduct(a, rankA), c.Grad);
                grads[1] = b.SumToShape(raw, y == null ? null : [.. y.Take(y.Count - 2), sa[^1], y[^1]], bIn);
            }
        }
        return grads;
    }

    /// <summary>
    /// <c>a2ᵀ·g2</c>, the gradient of a weight every row of <c>a2</c> <c>[rows, k]</c> met, <c>g2</c> <c>[rows, n]</c>
    /// being the gradient of those rows' products: one Gemm over the flattened batch. When n is the narrow side (a
    /// low-rank adapter's n = r, <c>narrowGradient</c>) aᵀ·g is several times slower in MLAS than (gᵀ·a)ᵀ, which
    /// transposes only the narrow operand and the small <c>[n, k]</c> result. The zero C keeps ONNX Runtime's
    /// GemmTransposeFusion (which needs C absent) from folding a transpose of the result, ours or a later Transpose
    /// rule's, back into the slow operand order.
    /// </summary>
    public static string FlatWeightGradient(GradientContext c, string a2, string g2, bool narrowGradient)
    {
        var b = c.B;
        string zero = c.Scalar(0);
        return narrowGradient
            ? b.TransposeGrad(b.Op("Gemm", [g2, a2, zero], Attr.Int("transA", 1)), [1, 0])
            : b.Op("Gemm", [a2, g2, zero], Attr.Int("transA", 1));
    }

    // True when db = aᵀ·g (a [.., m, k], g [.., m, n]) is cheaper as (gᵀ·a)ᵀ: g is the narrow side, n a known
    // number below k. A symbolic k (a sequence length) is taken to be the larger, as in attention's dV = Pᵀ·dC.
    static bool TransposeGradient(IReadOnlyList<Dim> a, IReadOnlyList<Dim>? y) =>
        y != null && y[^1].Value is long n && (a[^1].Value is long k ? n < k : a[^1].Symbol != null);

    static IReadOnlyList<Dim>? WithLast(IReadOnlyList<Dim>? shape, Dim last) =>
        shape == null ? null : [.. shape.Take(shape.Count - 1), last];

    // 1-D operands: numpy semantics (a vector is a row on the left, a column on the right).
    static string?[] VectorMatMul(GradientContext c, int rankA, int rankB)
    {
        var b = c.B;
        var grads = c.NoGradients();
        string a = c.Input(0), bIn = c.Input(1), g = c.Grad;
        if (rankA == 1 && rankB == 1)
        {
            // y = Σ a·b (scalar)
            if (c.Wants(0)) grads[0] = b.Mul(g, bIn);
            if (c.Wants(1)) grads[1] = b.Mul(g, a);
            return grads;
        }
        var y = c.ShapeOf(c.Output(0));
        Dim k = rankB == 1 ? c.ShapeOf(bIn)![0] : c.ShapeOf(a)![0];  // the contracted size
        if (rankB == 1)
        {
            // y[..., m] = a[..., m, k] · b[k]
            string gCol = b.Unsqueeze(g, [-1]);                                  // [..., m, 1]
            IReadOnlyList<Dim>? outer = y == null ? null : [.. y, k];            // [..., m, k]
            if (c.Wants(0)) grads[0] = b.SumToShape(b.Mul(gCol, bIn), outer, a);
            if (c.Wants(1)) grads[1] = b.SumToShape(b.Mul(gCol, a), outer, bIn);
            return grads;
        }
        // y[..., n] = a[k] · b[..., k, n]
        IReadOnlyList<Dim>? batch = y?.Take(y.Count - 1).ToArray();
        if (c.Wants(0))
        {
            string col = b.MatMul(bIn, b.Unsqueeze(g, [-1]));                    // [..., k, 1]
            grads[0] = b.SumToShape(b.Squeeze(col, [-1]), batch == null ? null : [.. batch, k], a);
        }
        if (c.Wants(1))
        {
            string outer = b.Mul(b.Unsqueeze(a, [-1]), b.Unsqueeze(g, [-2]));  // [k, 1]·[..., 1, n] → [..., k, n]
            grads[1] = b.SumToShape(outer, y == null ? null : [.. batch!, k, y[^1]], bIn);
        }
        return grads;
    }

    // y = α·op(a)·op(b) + β·c
    public static string?[] Gemm(GradientContext c)
    {
        var b = c.B;
        var grads = c.NoGradients();
        string a = c.Input(0), w = c.Input(1), g = c.Grad;
        bool transA = c.Int("transA", 0) != 0, transB = c.Int("transB", 0) != 0;
        float alpha = Attr.GetFloat(c.Node, "alpha", 1f), beta = Attr.GetFloat(c.Node, "beta", 1f);
        AttributeProto[] Scale(float s) => s == 1f ? [] : [Attr.Float("alpha", s)];
        if (c.Wants(0))
        {
            // d op(a) = α·g·op(b)ᵀ
            grads[0] = transA
                ? b.Op("Gemm", [w, g], [.. Scale(alpha), Attr.Int("transA", transB ? 1 : 0), Attr.Int("transB", 1)])
                : b.Op("Gemm", [g, w], [.. Scale(alpha), Attr.Int("transB", transB ? 0 : 1)]);
        }
        if (c.Wants(1))
        {
            // d op(b) = α·op(a)ᵀ·g
            grads[1] = transB
                ? b.Op("Gemm", [g, a], [.. Scale(alpha), Attr.Int("transA", 1), Attr.Int("transB", transA ? 1 : 0)])
                : b.Op("Gemm", [a, g], [.. Scale(alpha), Attr.Int("transA", transA ? 0 : 1)]);
        }
        if (c.Wants(2))
        {
            string summed = b.SumToShape(g, c.ShapeOf(c.Output(0)), c.Input(2));
            grads[2] = beta == 1f ? summed : b.Mul(summed, c.Scalar(beta));
        }
        return grads;
    }
}
