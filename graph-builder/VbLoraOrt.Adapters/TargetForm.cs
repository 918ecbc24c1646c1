namespace VbLoraOrt.Adapters;

/// <summary>How <see cref="AdapterInjector"/> applies a target's factors (A <c>[r, in]</c>, B <c>[out, r]</c>) to the target.</summary>
public enum TargetForm
{
    /// <summary>
    /// <c>y + (x·Aᵀ)·Bᵀ</c> beside the target: costs <c>2·T·r·(in + out)</c> FLOP for T tokens, and works for every
    /// layout (a Gemm, a transposed weight).
    /// </summary>
    Activation,

    /// <summary>
    /// <c>x·(W + Aᵀ·Bᵀ)</c>: the adapted weight is composed once per run (<c>2·r·in·out</c> FLOP) and the target's own
    /// MatMul reads it, so the forward runs the base model's products and nothing beside them (DESIGN.md §4.2). A
    /// target whose weight is not read as is by a MatMul (a Gemm, a weight read through a Transpose), or larger than
    /// <see cref="AdapterInjector.WeightFormMaxCrossoverTokens"/> allows, keeps the activation form.
    /// </summary>
    Weight,
}
