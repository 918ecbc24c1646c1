using VbLoraOrt.Differentiation.Core;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// Lays out a batched product's weight-side gradient so that ONNX Runtime materializes fewer transposes (DESIGN.md
/// §4.2). ONNX Runtime folds a Transpose of the last two axes into the MatMul reading it (FusedMatMul transA/transB),
/// except when the transposed value is itself a Transpose's output: its transpose optimizer then merges the two into
/// one transpose of the original, which no product absorbs (attention's head-split q is such an output). For
/// y = a·b, db = aᵀ·g can also be taken as (gᵀ·a)ᵀ.
/// </summary>
internal static class TransposeFolding
{
    /// <summary>
    /// True when db costs fewer transposes as (gᵀ·a)ᵀ: aᵀ would be a merged, materialized transpose (a is a
    /// Transpose's output); gᵀ folds into the product (g is not itself a transposed gradient); and the result's
    /// transpose composes with the one b's own Transpose rule applies next (b is a Transpose's output read by this
    /// product alone). Attention's dkᵀ = qᵀ·dS. The same form for da = g·bᵀ, (b·gᵀ)ᵀ, was measured slower (MLAS
    /// transposes the [s, s] gradient inside the product at about the cost of the transposes saved) and is not used.
    /// </summary>
    public static bool TransposedFormPays(GradientContext c) =>
        c.B.FusionShaped
        && c.RankOf(c.Input(0)) == c.RankOf(c.Input(1)) && c.RankOf(c.Input(0)) > 2
        && c.IsTransposeOutput(c.Input(0))
        && !c.B.IsTransposedGradient(c.Grad)
        && c.IsSolelyReadTransposeOutput(c.Input(1));
}
