using VbLoraOrt.Adapters.Merging;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>
/// One low-rank adaptation method in the unified view <c>vec(all A, B) = P·θ</c> (DESIGN.md §2): every method
/// turns its trainable tensors θ into, per target layer, <c>A: [r, in]</c> and <c>B: [out, r]</c>, and the
/// target's output gains <c>(x·Aᵀ)·Bᵀ</c>. A method knows only that composition; <see cref="AdapterInjector"/>
/// wires it into a graph and <c>Merging.AdapterMerger</c> folds it into the weights, for every method alike.
/// Adding a method (Uni-LoRA, VeRA, LoRA) means adding one implementation of this interface.
/// </summary>
public interface IAdapterMethod
{
    /// <summary>Short method name for manifests and logs, e.g. <c>vblora</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Checks <paramref name="targets"/> against the method's configuration and lists the trainable tensors.
    /// </summary>
    /// <exception cref="AdapterException">A target cannot be adapted with this configuration (the message names it).</exception>
    AdapterPlan Plan(IReadOnlyList<LinearModule> targets);

    /// <summary>
    /// The initial value of every tensor in <see cref="AdapterPlan.Parameters"/>, keyed by tensor name, row-major.
    /// Deterministic: the same configuration (including its seed) and plan give the same values.
    /// </summary>
    IReadOnlyDictionary<string, float[]> InitialValues(AdapterPlan plan);

    /// <summary>
    /// Emits the composition subgraph through <paramref name="emitter"/>: it reads the parameters as graph values
    /// named exactly as in <see cref="AdapterPlan.Parameters"/> (initializers or graph inputs, the caller decides)
    /// and produces each target's A and B once (never per batch row). Any frozen constants the method needs are
    /// emitted as initializers.
    /// </summary>
    /// <returns>One entry per target, in <see cref="AdapterPlan.Targets"/> order.</returns>
    IReadOnlyList<FactorValues> EmitFactors(AdapterPlan plan, GraphEmitter emitter);

    /// <summary>
    /// The same composition computed in C#, from parameter values keyed by tensor name (for merging and export).
    /// </summary>
    /// <returns>One entry per target, in <see cref="AdapterPlan.Targets"/> order.</returns>
    IReadOnlyList<LowRankFactors> ComputeFactors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> parameters);

    /// <summary>
    /// Parameters the adapter's stored (shipped) form holds, in float32 equivalents: indices narrower than 4 bytes
    /// count at their byte width (a uint8 index is 0.25), as PEFT reports it.
    /// </summary>
    double StoredParameterCount(AdapterPlan plan);
}
