using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>
/// Applies one target's factors (A <c>[r, in]</c>, B <c>[out, r]</c>) in a form of the caller's choosing (<see cref="AdapterInjector.InjectWithComposition"/>):
/// emits its nodes through <paramref name="wire"/>, leaves the target's value adapted, and returns the base node after
/// which those nodes run; or returns null to take the injector's own form, <c>y + (x·Aᵀ)·Bᵀ</c>.
/// </summary>
public delegate NodeProto? TargetWiring(FactorValues target, GraphEmitter wire);
