using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Methods.VbLora;

/// <summary>
/// VB-LoRA in a PEFT directory: <c>r</c>, <c>num_vectors</c>, <c>vector_length</c>, <c>topk</c>, the init fields and
/// <c>save_only_topk_weights</c>; the bank <c>base_model.vblora_vector_bank</c> and per target either the full logits
/// <c>vblora_logits_A</c> <c>[r, in/b, h]</c> and <c>vblora_logits_B</c> <c>[out/b, r, h]</c> (PEFT's default), or their
/// top-k as <c>…_topk_indices</c> in the dtype PEFT picks (<see cref="VbLoraNames.PeftTopKIndexDType"/>) and
/// <c>…_topk_weights</c> (the first k−1 softmax weights), which PEFT turns back into <c>log w</c> and −∞ as we do.
/// </summary>
public sealed class VbLoraPeftForm : IPeftForm
{
    /// <inheritdoc/>
    public string Method => VbLoraDescriptor.Instance.Name;

    /// <inheritdoc/>
    public string PeftType => VbLoraPeft.Type;

    /// <inheritdoc/>
    public IReadOnlyList<string> ModuleTensors(AdapterConfig config) =>
        config.GetBool("save_only_topk_weights")
            ? ["vblora_logits_A_topk_indices", "vblora_logits_A_topk_weights", "vblora_logits_B_topk_indices", "vblora_logits_B_topk_weights"]
            : ["vblora_logits_A", "vblora_logits_B"];

    /// <inheritdoc/>
    public void Describe(IAdapterMethod method, AdapterConfig config, PeftExportOptions options)
    {
        var o = ((VbLoraMethod)method).Options;
        config.Set("r", o.Rank).Set("num_vectors", o.NumVectors).Set("vector_length", o.VectorLength).Set("topk", o.TopK)
            .Set("init_vector_bank_bound", o.InitVectorBankBound).Set("init_logits_std", o.InitLogitsStd)
            .Set("save_only_topk_weights", options.TopKOnly);
    }

    /// <inheritdoc/>
    public IReadOnlyList<SafeTensor> Encode(IAdapterMethod method, AdapterPlan plan, IReadOnlyDictionary<string, float[]> values, PeftExportOptions options)
    {
        var vblora = (VbLoraMethod)method;
        if (vblora.UsesFrozenBank)
            throw new BadInputException(
                $"this VB-LoRA adapter was trained against a frozen shared bank (sha256 {SharedBank.Short(vblora.Options.SharedBankSha256!)}), which a PEFT directory " +
                "would have to hold in every adapter; export the adapter file (--adapter) or the serving adapter (--onnx-adapter) instead.");
        method.Encode(plan, values);                                         // checks the plan and values
        if (options.TopKOnly)
            return VbLoraStoredForm.Encode(vblora, plan, values, PeftIndexBytes(vblora.Options.NumVectors));
        var o = vblora.Options;
        return
        [
            SafeTensor.F32(VbLoraNames.StoredVectorBank, [o.NumVectors, o.VectorLength], values[VbLoraNames.VectorBank]),
            .. VbLoraStoredForm.LogitsTensors(plan).Select(e => SafeTensor.F32(e.Key, e.Parameter.Shape, values[e.Parameter.Name])),
        ];
    }

    /// <inheritdoc/>
    public IAdapterMethod Configure(AdapterConfig config, string source) => new VbLoraMethod(new VbLoraOptions
    {
        Rank = config.Rank,
        NumVectors = config.GetInt("num_vectors"),
        VectorLength = config.GetInt("vector_length"),
        TopK = config.GetInt("topk"),
        InitVectorBankBound = config.GetNumber("init_vector_bank_bound"),
        InitLogitsStd = config.GetNumber("init_logits_std"),
    });

    /// <inheritdoc/>
    public PeftDecoded Decode(IAdapterMethod method, AdapterPlan plan, AdapterConfig config, StoredTensors stored)
    {
        var vblora = (VbLoraMethod)method;
        bool topKOnly = config.GetBool("save_only_topk_weights");
        var values = topKOnly ? VbLoraStoredForm.Decode(vblora, plan, stored, PeftIndexBytes(vblora.Options.NumVectors)) : FullLogits(vblora, plan, stored);
        return new PeftDecoded(method, values, method.ComputeFactors(plan, values), Trainable: !topKOnly);
    }

    static Dictionary<string, float[]> FullLogits(VbLoraMethod method, AdapterPlan plan, StoredTensors stored)
    {
        var o = method.Options;
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal)
        {
            [VbLoraNames.VectorBank] = stored.TakeFiniteFloats(VbLoraNames.StoredVectorBank, [o.NumVectors, o.VectorLength]),
        };
        foreach (var (parameter, key) in VbLoraStoredForm.LogitsTensors(plan))
            values[parameter.Name] = stored.TakeFiniteFloats(key, parameter.Shape);
        return values;
    }

    // PEFT's index width for h vectors (VbLoraNames.PeftTopKIndexDType); int64 would need h ≥ 2^31, beyond an int.
    static int PeftIndexBytes(int numVectors) => VbLoraNames.PeftTopKIndexDType(numVectors) switch { "U8" => 1, "I16" => 2, _ => 4 };
}
