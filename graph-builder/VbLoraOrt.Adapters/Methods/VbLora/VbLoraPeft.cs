using VbLoraOrt.Adapters.Peft;

namespace VbLoraOrt.Adapters.Methods.VbLora;

/// <summary>
/// VB-LoRA's <c>adapter_config.json</c> layout as PEFT's <c>save_pretrained</c> writes it: <c>peft_type</c> <c>VBLORA</c> and the
/// fields of <c>tuners/vblora/config.py</c>, with PEFT's defaults (references per field in <c>tests/VbLoraOrt.Tests/Peft/Fixtures/README.md</c>).
/// </summary>
public static class VbLoraPeft
{
    /// <summary>PEFT's <c>peft_type</c>.</summary>
    public const string Type = "VBLORA";

    /// <summary>The layout.</summary>
    public static PeftLayout Layout { get; } = new(Type, PeftLayout.FollowedPeftVersion,
    [
        PeftConfigField.Of("r", PeftFieldKind.Integer, 4, required: true), PeftConfigField.Of("num_vectors", PeftFieldKind.Integer, 256, required: true),
        PeftConfigField.Of("vector_length", PeftFieldKind.Integer, 256, required: true), PeftConfigField.Of("topk", PeftFieldKind.Integer, 2, required: true),
        PeftConfigField.Of("target_modules", PeftFieldKind.ModuleNames, null, required: true), PeftConfigField.Of("exclude_modules", PeftFieldKind.ModuleNames, null),
        PeftConfigField.Of("save_only_topk_weights", PeftFieldKind.Boolean, false, required: true), PeftConfigField.Of("vblora_dropout", PeftFieldKind.Number, 0.0),
        PeftConfigField.Of("fan_in_fan_out", PeftFieldKind.Boolean, false), PeftConfigField.Of("bias", PeftFieldKind.Text, "none"), PeftConfigField.NoneDefault("modules_to_save"),
        PeftConfigField.Of("init_vector_bank_bound", PeftFieldKind.Number, 0.02), PeftConfigField.Of("init_logits_std", PeftFieldKind.Number, 0.1),
        PeftConfigField.NoneDefault("layers_to_transform"), PeftConfigField.NoneDefault("layers_pattern"),
    ],
        Check: field => field("topk") > field("num_vectors") ? $"field 'topk' is {field("topk")}, more than num_vectors {field("num_vectors")}" : null);
}
