using VbLoraOrt.Differentiation.Core;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// Softmax's backward dx = y·(g − Σⱼ g·y) needs one sum per row. When y's gradient comes only from a product
/// C = y·V (attention's probabilities times values), g = dC·Vᵀ and the row sums equal Σ dC·C over C's last axis:
/// Σⱼ (dC·Vᵀ)ᵢⱼ·yᵢⱼ = Σ_d dCᵢ_d·(y·V)ᵢ_d. C is [.., s, d] where y is [.., s, s], so the sums read d/s of the data
/// (a quarter on MiniLM) and the backward makes two passes over the probabilities instead of four (DESIGN.md §4.2).
/// </summary>
internal static class SoftmaxRowSums
{
    /// <summary>Σ dC·C over the last axis (kept), or null when the node is not a last-axis softmax read only by such a product.</summary>
    public static string? FromProduct(GradientContext c, long axis)
    {
        if (!c.B.FusionShaped)
            return null;
        string y = c.Output(0);
        var probabilities = c.ShapeOf(y);
        if (probabilities == null || BackwardBuilder.Normalize(axis, probabilities.Count) != probabilities.Count - 1)
            return null;
        if (c.SoleGradientReader(y) is not ({ OpType: "MatMul", Domain: "" or "ai.onnx" } product, 0) || product.Input[1] == y)
            return null;
        string output = product.Output[0];
        var context = c.ShapeOf(output);
        if (c.RankOf(product.Input[1]) < 2 || context == null || !SameRows(probabilities, context) || c.GradientOf(output) is not { } dC)
            return null;
        return c.B.ReduceSum(c.B.Mul(dC, output), [-1], keepDims: true);
    }

    // Every axis but the last is the same (no broadcasting of y's batch axes by the product).
    static bool SameRows(IReadOnlyList<Shapes.Dim> y, IReadOnlyList<Shapes.Dim> product) =>
        y.Count == product.Count && y.Take(y.Count - 1).Zip(product.Take(product.Count - 1)).All(d => d.First.SameAs(d.Second));
}
