using System.Text.Json;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Merging;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>
/// One low-rank adaptation method in the unified view <c>vec(all A, B) = P·θ</c> (DESIGN.md §2): every method
/// turns its trainable tensors θ into, per target layer, <c>A: [r, in]</c> and <c>B: [out, r]</c>, and the
/// target's output gains <c>(x·Aᵀ)·Bᵀ</c>. A method knows only that composition; <see cref="AdapterInjector"/>
/// wires it into a graph and <c>Merging.AdapterMerger</c> folds it into the weights, for every method alike.
/// A configured method is created by its <see cref="AdapterMethodDescriptor"/>; adding a method means adding one
/// folder with a descriptor and an implementation of this interface, and one line in <see cref="AdapterMethods"/>.
/// </summary>
public interface IAdapterMethod
{
    /// <summary>The method's descriptor (name, options, groups…).</summary>
    AdapterMethodDescriptor Descriptor { get; }

    /// <summary>Short method name for manifests and logs: <see cref="AdapterMethodDescriptor.Name"/>.</summary>
    string Name { get; }

    /// <summary>The configuration as a JSON object, as manifests and adapter files record it; <see cref="AdapterMethodDescriptor.Load"/> reads it back.</summary>
    JsonElement SaveOptions();

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

    /// <summary>
    /// <paramref name="values"/> (every parameter of <paramref name="plan"/>) changed so that the adapter adds exactly
    /// nothing: ΔW = 0 for every target (VB-LoRA: a zero bank; LoRA: B = 0; Uni-LoRA: θ = 0). What a head-only
    /// baseline trains from, and what a fresh adapter means. Only the tensors that must change are replaced.
    /// </summary>
    IReadOnlyDictionary<string, float[]> ZeroUpdate(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values);

    /// <summary>The adapter's stored form (DESIGN.md §2): the tensors its file holds for <paramref name="values"/>.</summary>
    IReadOnlyList<SafeTensor> Encode(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values);

    /// <summary>
    /// The plan's parameter values rebuilt from a stored form read by <see cref="AdapterFile"/>: each tensor taken
    /// from <paramref name="stored"/> with its dtype and shape checked, values checked finite and in range.
    /// </summary>
    /// <exception cref="BadInputException">A tensor is missing, malformed or out of range (the message names the file and key).</exception>
    Dictionary<string, float[]> Decode(AdapterPlan plan, StoredTensors stored);

    /// <summary>
    /// True when <see cref="Decode"/> gives the trained values themselves, so training can go on from a stored
    /// adapter; false when the stored form keeps only what inference needs (VB-LoRA's top-k).
    /// </summary>
    bool StoredFormTrainable { get; }

    /// <summary>
    /// Writes what this configured method keeps in an artifact folder beside its graphs into <paramref name="directory"/>
    /// (VB-LoRA's frozen shared bank; nothing for most methods) and returns the file names, which the manifest lists.
    /// </summary>
    IReadOnlyList<string> WriteArtifactFiles(string directory);

    /// <summary>
    /// This method with what <see cref="WriteArtifactFiles"/> kept in <paramref name="directory"/> read back and checked
    /// against its options (merging and serving need it); itself when it keeps nothing.
    /// </summary>
    /// <exception cref="BadInputException">A file is missing, or holds something other than the options name (another bank).</exception>
    IAdapterMethod WithArtifactFiles(string directory);

    /// <summary>
    /// The tensors a serving model takes for one adapter (DESIGN.md §7.1), under the names its graph inputs carry:
    /// the stored form when it composes without the trained tensors (VB-LoRA's top-k), else the trained tensors.
    /// </summary>
    /// <exception cref="BadInputException">The method has no serving form.</exception>
    IReadOnlyList<SafeTensor> ServingTensors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values);

    /// <summary>The composition reading the graph values named as <see cref="ServingTensors"/> names them.</summary>
    IReadOnlyList<FactorValues> EmitServingFactors(AdapterPlan plan, GraphEmitter emitter);

    /// <summary>
    /// The serving model's default for every adapter input: the zero update where the method has one, so the model runs
    /// as the base model without an adapter.
    /// </summary>
    IReadOnlyList<SafeTensor> ServingDefaults(AdapterPlan plan);
}
