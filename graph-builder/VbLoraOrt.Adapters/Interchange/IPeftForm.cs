using VbLoraOrt.Adapters.Storage;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>
/// How one method's adapter maps to a PEFT adapter directory and back (DESIGN.md §2, PEFT interchange): the config
/// fields it sets, the tensors <c>save_pretrained</c> writes for it, the method a config describes, and the factors a
/// PEFT file's tensors compose. Each method's folder implements it; <see cref="PeftForms"/> lists them.
/// Module paths are taken as they appear in the plan's targets: the caller gives targets whose paths are PEFT's.
/// </summary>
public interface IPeftForm
{
    /// <summary>The registry name of the method (<see cref="AdapterMethodDescriptor.Name"/>).</summary>
    string Method { get; }

    /// <summary>PEFT's <c>peft_type</c>.</summary>
    string PeftType { get; }

    /// <summary>
    /// The tensor names PEFT saves under each adapted module (after <c>base_model.model.&lt;path&gt;.</c>) for
    /// <paramref name="config"/>; used to tell which module a key belongs to.
    /// </summary>
    IReadOnlyList<string> ModuleTensors(AdapterConfig config);

    /// <summary>Sets the method's fields of <paramref name="config"/> from <paramref name="method"/>'s options.</summary>
    void Describe(IAdapterMethod method, AdapterConfig config, PeftExportOptions options);

    /// <summary>The adapter's tensors as PEFT saves them (head excluded), for checked <paramref name="values"/>.</summary>
    IReadOnlyList<SafeTensor> Encode(IAdapterMethod method, AdapterPlan plan, IReadOnlyDictionary<string, float[]> values, PeftExportOptions options);

    /// <summary>The configured method a PEFT config describes.</summary>
    /// <exception cref="Peft.PeftFormatException">A field has a value this build does not support (the message names it).</exception>
    IAdapterMethod Configure(AdapterConfig config, string source);

    /// <summary>Takes the adapter's tensors from <paramref name="stored"/> and rebuilds values and factors.</summary>
    /// <exception cref="VbLoraOrt.Onnx.BadInputException">A tensor is missing or malformed (the message names the key).</exception>
    PeftDecoded Decode(IAdapterMethod method, AdapterPlan plan, AdapterConfig config, StoredTensors stored);
}

/// <summary>An adapter read from a PEFT file.</summary>
/// <param name="Method">The method the values belong to.</param>
/// <param name="Values">The plan's parameter values.</param>
/// <param name="Factors">Per target, A and B as PEFT composes them (what a merge folds in).</param>
/// <param name="Trainable">Whether <paramref name="Values"/> can seed further training (false for VB-LoRA's top-k form, or saved VeRA projections no generator reproduces).</param>
public sealed record PeftDecoded(IAdapterMethod Method, IReadOnlyDictionary<string, float[]> Values, IReadOnlyList<LowRankFactors> Factors, bool Trainable);

/// <summary>Choices PEFT leaves to the user when saving.</summary>
public sealed record PeftExportOptions
{
    /// <summary>VB-LoRA: <c>save_only_topk_weights</c> (PEFT's default false: the full logits).</summary>
    public bool TopKOnly { get; init; }

    /// <summary>VeRA: <c>save_projection</c> (PEFT's default true: the shared projections are saved).</summary>
    public bool SaveProjection { get; init; } = true;
}
