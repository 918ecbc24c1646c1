using VbLoraOrt.Contracts.Artifacts;

namespace VbLoraOrt.Adapters;

/// <summary>Graph value names of one target's low-rank factors, as emitted by <see cref="IAdapterMethod.EmitFactors"/>.</summary>
/// <param name="Module">The target layer.</param>
/// <param name="A">Value of shape <c>[r, in]</c>.</param>
/// <param name="B">Value of shape <c>[out, r]</c>.</param>
public sealed record FactorValues(LinearModule Module, string A, string B);
