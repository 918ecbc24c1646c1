using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>
/// Applies one target's factors (A <c>[r, in]</c>, B <c>[out, r]</c>) in a form of the caller's choosing (<see cref="AdapterInjector.InjectWithComposition"/>):
/// emits its per-run nodes through <paramref name="wire"/> (and any that read only parameters and constants through
/// <paramref name="compose"/>, which run first), leaves the target's value adapted, and returns the base node after
/// which <paramref name="wire"/>'s nodes run; or returns null to take the injector's own form, <c>y + (x·Aᵀ)·Bᵀ</c>.
/// </summary>
public delegate NodeProto? TargetWiring(FactorValues target, GraphEmitter compose, GraphEmitter wire);
