using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>The result of <see cref="AdapterInjector"/>: the adapted model and what was added to it.</summary>
/// <param name="Model">A new model; the base model is not modified.</param>
/// <param name="Plan">The validated plan: targets and trainable tensors (their names are graph values of <paramref name="Model"/>).</param>
/// <param name="Factors">Per target, the graph values holding A <c>[r, in]</c> and B <c>[out, r]</c>.</param>
public sealed record InjectedModel(OnnxModel Model, AdapterPlan Plan, IReadOnlyList<FactorValues> Factors);
