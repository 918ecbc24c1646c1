using System.Text.Json.Nodes;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;

namespace VbLoraOrt.Adapters.Methods.Lora;

/// <summary>
/// LoRA in a PEFT directory: <c>r</c> and <c>lora_alpha</c>; per target <c>lora_A.weight</c> <c>[r, in]</c> and
/// <c>lora_B.weight</c> <c>[out, r]</c>, F32 (our stored form is PEFT's). Variants that change ΔW's formula (DoRA,
/// rsLoRA, per-module rank or alpha patterns, LoRA bias) are refused by name; <c>lora_dropout</c> is ignored (it acts
/// only while training).
/// </summary>
public sealed class LoraPeftForm : IPeftForm
{
    /// <inheritdoc/>
    public string Method => LoraDescriptor.Instance.Name;

    /// <inheritdoc/>
    public string PeftType => LoraPeft.Type;

    /// <inheritdoc/>
    public IReadOnlyList<string> ModuleTensors(AdapterConfig config) => ["lora_A.weight", "lora_B.weight"];

    /// <inheritdoc/>
    public void Describe(IAdapterMethod method, AdapterConfig config, PeftExportOptions options)
    {
        var o = ((LoraMethod)method).Options;
        config.Set("r", o.Rank).Set("lora_alpha", PeftFields.Number(o.Alpha));
    }

    /// <inheritdoc/>
    public IReadOnlyList<SafeTensor> Encode(IAdapterMethod method, AdapterPlan plan, IReadOnlyDictionary<string, float[]> values, PeftExportOptions options) =>
        method.Encode(plan, values);

    /// <inheritdoc/>
    public IAdapterMethod Configure(AdapterConfig config, string source)
    {
        foreach (string flag in new[] { "use_dora", "use_rslora", "use_qalora", "lora_bias" })
            PeftFields.Require(config, source, flag, false, "it changes how ΔW is formed");
        foreach (string pattern in new[] { "rank_pattern", "alpha_pattern" })
            PeftFields.Require(config, source, pattern, new JsonObject(), "every target must share r and lora_alpha");
        foreach (string none in new[] { "layer_replication", "target_parameters", "use_bdlora", "alora_invocation_tokens" })
            PeftFields.Require(config, source, none, null, "a variant this build does not implement");
        return new LoraMethod(new LoraOptions { Rank = config.Rank, Alpha = config.GetNumber("lora_alpha") });
    }

    /// <inheritdoc/>
    public PeftDecoded Decode(IAdapterMethod method, AdapterPlan plan, AdapterConfig config, StoredTensors stored)
    {
        var values = method.Decode(plan, stored);
        return new PeftDecoded(method, values, method.ComputeFactors(plan, values), Trainable: true);
    }
}
