namespace VbLoraOrt.Adapters.Peft;

/// <summary>An adapter read from a PEFT file.</summary>
/// <param name="Method">The method the values belong to.</param>
/// <param name="Values">The plan's parameter values.</param>
/// <param name="Factors">Per target, A and B as PEFT composes them (what a merge folds in).</param>
/// <param name="Trainable">Whether <paramref name="Values"/> can seed further training (false for VB-LoRA's top-k form, or saved VeRA projections no generator reproduces).</param>
public sealed record PeftDecoded(IAdapterMethod Method, IReadOnlyDictionary<string, float[]> Values, IReadOnlyList<LowRankFactors> Factors, bool Trainable);
