using VbLoraOrt.Differentiation.Composites;
using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// Gradients of the composite nodes in <see cref="Composites"/>: each stands for a torch-exported subgraph and
/// reads the forward values it needs instead of differentiating the subgraph op by op.
/// </summary>
internal static class CompositeRules
{
    // z = x·a, a = 1 + erf(u), u = x/c:  dz/dx = a + x·(2/√π)·e^(−u²)/c = a + (2/√π)·u / e^(u²)
    // (e^(u²) overflows to ∞ for |u| > 9.4, where u / ∞ = 0 is the right limit).
    public static string?[] GeluErf(GradientContext c)
    {
        var b = c.B;
        string x = c.Input(0), u = c.Input(1), a = c.Input(2);
        string bell = b.Div(u, b.Op("Exp", [b.Mul(u, u)]));
        string local = b.Add(a, b.Mul(bell, c.Scalar(2 / Math.Sqrt(Math.PI))));
        var grads = c.NoGradients();
        grads[0] = b.SumToShape(b.Mul(c.Grad, local), c.ShapeOf(c.Output(0)), x);
        return grads;
    }

    // x̂ = (x − mean x) / σ over `axes`:  dx = (g − mean g − x̂·mean(g·x̂)) / σ
    public static string?[] LayerNormCore(GradientContext c)
    {
        var b = c.B;
        string normalized = c.Output(0), sigma = c.Input(1), g = c.Grad;
        long[] axes = Attr.GetInts(c.Node, "axes")!;
        string meanG = b.ReduceMean(g, axes, keepDims: true);
        string meanGx = b.ReduceMean(b.Mul(g, normalized), axes, keepDims: true);
        string centered = b.Sub(b.Sub(g, b.Mul(normalized, meanGx)), meanG);
        var grads = c.NoGradients();
        grads[0] = b.Div(centered, sigma);
        return grads;
    }

    // y = x·W', W' = W + P·Q with W frozen, P [in, r], Q [r, out]:  dx = g·W'ᵀ,  dP = xᵀ·(g·Qᵀ),  dQ = (x·P)ᵀ·g.
    // The factors' gradients go through the rank; dW' = xᵀ·g, a product as large as the forward's, is never formed.
    public static string?[] AdaptedWeightMatMul(GradientContext c)
    {
        var b = c.B;
        string x = c.Input(0), p = c.Input(1), q = c.Input(2), adapted = c.Input(3), g = c.Grad;
        int rank = c.RankOf(x);
        var grads = c.NoGradients();
        if (c.Wants(0))
            grads[0] = b.MatMul(g, b.Transpose(adapted, [1, 0]));
        if (!c.Wants(1) && !c.Wants(2))
            return grads;
        // Every row of x meets the same factors: contract the flattened batch in one Gemm each. A g that arrives as a
        // swap of [b, out, t] (a key or value projection's gradient, DESIGN.md §4.2) is read only through products, into
        // which ONNX Runtime folds the swap (transA), so it is never materialized: dQ = Σ_b (x_b·P)ᵀ·g_b is then
        // (Σ_b swapped_b·(x_b·P))ᵀ, a batched product of the small [out, t]·[t, r] and a sum over b.
        string? swapped = rank == 3 && b.TransposeOf(g) is ({ } s, [0, 2, 1]) ? s : null;
        string x2 = rank == 2 ? x : b.Flatten(x, rank - 1);
        string? g2 = swapped != null ? null : rank == 2 ? g : b.Op("Flatten", [g], Attr.Int("axis", rank - 1));
        var (inputs, r) = (c.ShapeOf(p)?[0].Value, c.ShapeOf(p)?[1].Value);
        long? outputs = c.ShapeOf(q)?[1].Value;
        if (c.Wants(1))
        {
            string qT = b.Transpose(q, [1, 0]);
            string h2 = g2 != null ? b.MatMul(g2, qT) : b.Flatten(b.MatMul(g, qT), 2);            // g·Qᵀ, [rows, r]
            grads[1] = MatMulRules.FlatWeightGradient(c, x2, h2, narrowGradient: r < inputs);
        }
        if (c.Wants(2))
            grads[2] = g2 != null
                ? MatMulRules.FlatWeightGradient(c, b.MatMul(x2, p), g2, narrowGradient: outputs < r)
                : b.TransposeGrad(b.ReduceSum(b.MatMul(swapped!, b.MatMul(x, p)), [0], keepDims: false), [1, 0]);
        return grads;
    }

    /// <summary>The rows for composite op types.</summary>
    public static IEnumerable<GradientRuleEntry> Entries =>
    [
        new(GeluErfPattern.OpType, 1, [0], GeluErf),
        new(LayerNormPattern.OpType, 1, [0], LayerNormCore),
        new(AdaptedWeightPattern.OpType, 1, [0, 1, 2], AdaptedWeightMatMul),
    ];
}
