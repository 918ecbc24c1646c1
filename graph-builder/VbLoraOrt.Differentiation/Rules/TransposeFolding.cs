using VbLoraOrt.Differentiation.Core;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// Lays out a batched product's input gradient so that ONNX Runtime materializes as few transposes as it can
/// (DESIGN.md §4.2). ONNX Runtime folds a Transpose of the last two axes into the MatMul
/// reading it (FusedMatMul transA/transB), except when the transposed value is itself a Transpose's output: its
/// transpose optimizer then merges the two into one transpose of the original, which no product absorbs
/// (attention's head-split q, kᵀ and v are such outputs). For y = a·b the gradient of either input can be taken
/// directly (da = g·bᵀ, db = aᵀ·g) or transposed (da = (b·gᵀ)ᵀ, db = (gᵀ·a)ᵀ).
/// </summary>
internal static class TransposeFolding
{
    /// <summary>
    /// True when input <paramref name="input"/>'s gradient costs fewer transposes in the transposed form: the direct
    /// form would transpose the other operand, a Transpose's output (a merged, materialized transpose); the transposed
    /// form's transpose of g folds into the product (g is not itself a transposed gradient); and the result's transpose
    /// composes with the one the input's own Transpose rule applies next (that Transpose's only gradient).
    /// </summary>
    public static bool TransposedFormPays(GradientContext c, int input) =>
        c.B.FusionShaped
        && c.IsTransposeOutput(c.Input(1 - input))
        && !c.B.IsTransposedGradient(c.Grad)
        && c.IsSolelyReadTransposeOutput(c.Input(input));
}
