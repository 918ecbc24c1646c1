using VbLoraOrt.Adapters.Peft;

namespace VbLoraOrt.Adapters.Methods.UniLora;

/// <summary>
/// Uni-LoRA's <c>adapter_config.json</c> layout as PEFT's <c>save_pretrained</c> writes it: <c>peft_type</c> <c>UNILORA</c> and the
/// fields of <c>tuners/unilora/config.py</c> as merged into PEFT (2026; first released in 0.20.0), with PEFT's defaults (references per field in <c>tests/VbLoraOrt.Tests/Peft/Fixtures/README.md</c>).
/// </summary>
public static class UniLoraPeft
{
    /// <summary>PEFT's <c>peft_type</c>.</summary>
    public const string Type = "UNILORA";

    /// <summary>The layout.</summary>
    public static PeftLayout Layout { get; } = new(Type, "0.20.0",
    [
        PeftConfigField.Of("r", PeftFieldKind.Integer, 4, required: true), PeftConfigField.Of("proj_seed", PeftFieldKind.Integer, 42, required: true),
        PeftConfigField.Of("theta_d_length", PeftFieldKind.Integer, 256, required: true), PeftConfigField.Of("target_modules", PeftFieldKind.ModuleNames, null, required: true),
        PeftConfigField.Of("unilora_dropout", PeftFieldKind.Number, 0.0), PeftConfigField.Of("fan_in_fan_out", PeftFieldKind.Boolean, false),
        PeftConfigField.Of("bias", PeftFieldKind.Text, "none"), PeftConfigField.NoneDefault("modules_to_save"), PeftConfigField.Of("init_theta_d_bound", PeftFieldKind.Number, 0.02),
        PeftConfigField.Of("init_weights", PeftFieldKind.Boolean, true), PeftConfigField.Of("save_indices", PeftFieldKind.Boolean, false),
        PeftConfigField.NoneDefault("layers_to_transform"), PeftConfigField.NoneDefault("layers_pattern"),
    ]);
}
