using System.Text.Json.Nodes;
using VbLoraOrt.Adapters.Peft;

namespace VbLoraOrt.Adapters.Methods.Lora;

/// <summary>
/// LoRA's <c>adapter_config.json</c> layout as PEFT's <c>save_pretrained</c> writes it: <c>peft_type</c> <c>LORA</c> and the
/// fields of PEFT 0.19.1's <c>LoraConfig</c>, with PEFT's defaults (references per field in <c>tests/VbLoraOrt.Tests/Peft/Fixtures/README.md</c>).
/// </summary>
public static class LoraPeft
{
    /// <summary>PEFT's <c>peft_type</c>.</summary>
    public const string Type = "LORA";

    /// <summary>The layout.</summary>
    public static PeftLayout Layout { get; } = new(Type, PeftLayout.FollowedPeftVersion,
    [
        PeftConfigField.NoneDefault("alora_invocation_tokens"), PeftConfigField.Of("alpha_pattern", PeftFieldKind.Any, new JsonObject()), PeftConfigField.NoneDefault("arrow_config"),
        PeftConfigField.Of("bias", PeftFieldKind.Text, "none"), PeftConfigField.NoneDefault("corda_config"), PeftConfigField.Of("ensure_weight_tying", PeftFieldKind.Boolean, false),
        PeftConfigField.NoneDefault("eva_config"), PeftConfigField.Of("exclude_modules", PeftFieldKind.ModuleNames, null), PeftConfigField.Of("fan_in_fan_out", PeftFieldKind.Boolean, false),
        PeftConfigField.Of("init_lora_weights", PeftFieldKind.Any, true), PeftConfigField.NoneDefault("layer_replication"), PeftConfigField.NoneDefault("layers_pattern"), PeftConfigField.NoneDefault("layers_to_transform"),
        PeftConfigField.Of("loftq_config", PeftFieldKind.Any, new JsonObject()), PeftConfigField.Of("lora_alpha", PeftFieldKind.Number, 8, required: true),
        PeftConfigField.Of("lora_bias", PeftFieldKind.Boolean, false), PeftConfigField.Of("lora_dropout", PeftFieldKind.Number, 0.0), PeftConfigField.NoneDefault("lora_ga_config"),
        PeftConfigField.NoneDefault("megatron_config"), PeftConfigField.Of("megatron_core", PeftFieldKind.Text, "megatron.core"), PeftConfigField.NoneDefault("modules_to_save"),
        PeftConfigField.Of("qalora_group_size", PeftFieldKind.Integer, 16), PeftConfigField.Of("r", PeftFieldKind.Integer, 8, required: true),
        PeftConfigField.Of("rank_pattern", PeftFieldKind.Any, new JsonObject()), PeftConfigField.Of("target_modules", PeftFieldKind.ModuleNames, null, required: true),
        PeftConfigField.NoneDefault("target_parameters"), PeftConfigField.NoneDefault("trainable_token_indices"), PeftConfigField.NoneDefault("use_bdlora"), PeftConfigField.Of("use_dora", PeftFieldKind.Boolean, false),
        PeftConfigField.Of("use_qalora", PeftFieldKind.Boolean, false), PeftConfigField.Of("use_rslora", PeftFieldKind.Boolean, false),
    ]);
}
