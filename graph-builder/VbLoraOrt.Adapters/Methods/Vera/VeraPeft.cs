using VbLoraOrt.Adapters.Peft;

namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>
/// VeRA's <c>adapter_config.json</c> layout as PEFT's <c>save_pretrained</c> writes it: <c>peft_type</c> <c>VERA</c> and the
/// fields of <c>tuners/vera/config.py</c>, with PEFT's defaults (references per field in <c>tests/VbLoraOrt.Tests/Peft/Fixtures/README.md</c>).
/// </summary>
public static class VeraPeft
{
    /// <summary>PEFT's <c>peft_type</c>.</summary>
    public const string Type = "VERA";

    /// <summary>The layout.</summary>
    public static PeftLayout Layout { get; } = new(Type, PeftLayout.FollowedPeftVersion,
    [
        PeftConfigField.Of("r", PeftFieldKind.Integer, 256, required: true), PeftConfigField.Of("target_modules", PeftFieldKind.ModuleNames, null, required: true),
        PeftConfigField.Of("projection_prng_key", PeftFieldKind.Integer, 0, required: true), PeftConfigField.Of("save_projection", PeftFieldKind.Boolean, true, required: true),
        PeftConfigField.Of("vera_dropout", PeftFieldKind.Number, 0.0), PeftConfigField.Of("d_initial", PeftFieldKind.Number, 0.1),
        PeftConfigField.Of("fan_in_fan_out", PeftFieldKind.Boolean, false), PeftConfigField.Of("bias", PeftFieldKind.Text, "none"), PeftConfigField.NoneDefault("modules_to_save"),
        PeftConfigField.Of("init_weights", PeftFieldKind.Boolean, true), PeftConfigField.NoneDefault("layers_to_transform"), PeftConfigField.NoneDefault("layers_pattern"),
    ]);
}
