namespace VbLoraOrt.Adapters.Peft;

/// <summary>
/// What PEFT's <c>save_pretrained</c> writes into <c>adapter_config.json</c> for one <c>peft_type</c>: the method's own
/// fields with PEFT's defaults (the fields every config shares are added where the schema is assembled), the
/// PEFT release whose layout they follow, and a check across fields. Each method's folder defines its layout.
/// </summary>
/// <param name="PeftType">The <c>peft_type</c> value, as PEFT's <c>PeftType</c> enum spells it.</param>
/// <param name="PeftVersion">The PEFT release the layout follows, written as <c>peft_version</c>.</param>
/// <param name="MethodFields">The method's config fields.</param>
/// <param name="Check">A problem across fields (given a reader of integer fields), or null when there is none.</param>
public sealed record PeftLayout(
    string PeftType,
    string PeftVersion,
    IReadOnlyList<PeftConfigField> MethodFields,
    Func<Func<string, int>, string?>? Check = null)
{
    /// <summary>The PEFT release the layouts follow unless a method needs a later one.</summary>
    public const string FollowedPeftVersion = "0.19.1";

    /// <summary>
    /// Every field PEFT writes for the method, sorted by key as PEFT writes them: <see cref="MethodFields"/> plus the
    /// common ones of <c>PeftConfigMixin</c> (task_type, peft_type, auto_mapping, peft_version) and <c>PeftConfig</c>
    /// (base_model_name_or_path, revision, inference_mode; <c>PeftModel.save_pretrained</c> writes inference_mode true).
    /// </summary>
    public IReadOnlyList<PeftConfigField> Fields { get; } =
    [
        .. new[]
        {
            PeftConfigField.NoneDefault("auto_mapping"), PeftConfigField.Of("base_model_name_or_path", PeftFieldKind.Text, null),
            PeftConfigField.Of("inference_mode", PeftFieldKind.Boolean, true),
            PeftConfigField.Of("peft_type", PeftFieldKind.Text, PeftType, required: true),
            PeftConfigField.Of("peft_version", PeftFieldKind.Text, PeftVersion),
            PeftConfigField.Of("revision", PeftFieldKind.Text, null), PeftConfigField.Of("task_type", PeftFieldKind.Text, null),
        }.Concat(MethodFields).OrderBy(f => f.Name, StringComparer.Ordinal),
    ];
}
