using System.Text.Json;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;

namespace VbLoraOrt.Adapters.Files;

/// <summary>
/// An adapter read back from its file by <see cref="AdapterFile.Load"/>: what it adapts, on which base model, for
/// which task, and its parameters rebuilt in the form the method's graphs and <see cref="IAdapterMethod.ComputeFactors"/>
/// take.
/// </summary>
public sealed record StoredAdapter
{
    /// <summary>The file it was read from.</summary>
    public required string Path { get; init; }

    /// <summary>Adapter method name (<c>vblora</c>…).</summary>
    public required string Method { get; init; }

    /// <summary>The method's options (JSON object, as in the manifest).</summary>
    public required JsonElement MethodOptions { get; init; }

    /// <summary>Adapted modules, in model order, as found in the base model.</summary>
    public required IReadOnlyList<LinearModule> Targets { get; init; }

    /// <summary>The target specification as the user wrote it when preparing.</summary>
    public required string TargetSpec { get; init; }

    /// <summary>The method's plan for <see cref="Targets"/>: the parameter names and shapes of <see cref="Parameters"/>.</summary>
    public required AdapterPlan Plan { get; init; }

    /// <summary>The task the head was trained for.</summary>
    public required TaskInfo Task { get; init; }

    /// <summary>The base model the adapter was trained on (file name, SHA-256, hidden-state output, hidden size).</summary>
    public required BaseModelInfo BaseModel { get; init; }

    /// <summary>Identity of the artifacts it was trained with (<see cref="ArtifactManifest.Identity"/>).</summary>
    public required string ArtifactsIdentity { get; init; }

    /// <summary>
    /// Parameter values by trainable-tensor name (<see cref="Plan"/>'s tensors, then the head's
    /// <c>head_classifier_weight</c> <c>[hidden, labels]</c> and <c>head_classifier_bias</c> for classify), row-major.
    /// For VB-LoRA the logits are rebuilt from the stored top-k: <c>log(w)</c> at the kept indices and −∞ elsewhere.
    /// They compose exactly the stored A and B (for inference, evaluation and merging) but are not the trained
    /// logits: see <see cref="TrainableAgain"/>.
    /// </summary>
    public required IReadOnlyDictionary<string, float[]> Parameters { get; init; }

    /// <summary>
    /// False when <see cref="Parameters"/> cannot seed further training. VB-LoRA's stored form keeps only the top-k
    /// of each logits row; the −∞ elsewhere get no gradient, so training could never pick another bank vector
    /// (and AdamW moments are not stored). Resume training from a checkpoint instead.
    /// </summary>
    public required bool TrainableAgain { get; init; }

    /// <summary>File size and stored parameter counts, read from the file.</summary>
    public required AdapterFileSummary Summary { get; init; }

    /// <summary>The adapter method, configured with <see cref="MethodOptions"/>.</summary>
    public IAdapterMethod CreateMethod() => AdapterMethods.Create(Method, MethodOptions);
}
