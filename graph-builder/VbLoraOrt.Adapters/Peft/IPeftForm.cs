using VbLoraOrt.Adapters.Storage;

namespace VbLoraOrt.Adapters.Peft;

/// <summary>
/// How one method's adapter maps to a PEFT adapter directory and back (DESIGN.md §2, PEFT interchange): the config
/// fields it sets, the tensors <c>save_pretrained</c> writes for it, the method a config describes, and the factors a
/// PEFT file's tensors compose. Each method's folder implements it; the registry lists them.
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
    /// <exception cref="PeftFormatException">A field has a value this build does not support (the message names it).</exception>
    IAdapterMethod Configure(AdapterConfig config, string source);

    /// <summary>Takes the adapter's tensors from <paramref name="stored"/> and rebuilds values and factors.</summary>
    /// <exception cref="VbLoraOrt.Onnx.BadInputException">A tensor is missing or malformed (the message names the key).</exception>
    PeftDecoded Decode(IAdapterMethod method, AdapterPlan plan, AdapterConfig config, StoredTensors stored);
}
