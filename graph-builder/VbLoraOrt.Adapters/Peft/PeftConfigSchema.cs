using System.Text.Json.Nodes;

namespace VbLoraOrt.Adapters.Peft;

/// <summary>
/// Every field PEFT's <c>save_pretrained</c> writes into <c>adapter_config.json</c> for each supported method, with
/// PEFT's defaults. PEFT writes <c>dataclasses.asdict(config)</c> (sets turned into lists) with
/// <c>json.dumps(indent=2, sort_keys=True)</c> (<c>config.py</c>, <c>PeftConfigMixin.save_pretrained</c>), so the key
/// set is exactly the config class's fields: the common ones of <c>PeftConfigMixin</c>/<c>PeftConfig</c> plus the
/// method's. Sources, per method (see <c>tests/VbLoraOrt.Tests/Peft/Fixtures/README.md</c> for field-by-field
/// references): LoRA as PEFT 0.19.1 writes it; VB-LoRA <c>tuners/vblora/config.py</c>; VeRA
/// <c>tuners/vera/config.py</c>; Uni-LoRA <c>tuners/unilora/config.py</c> as merged into PEFT (2026).
/// </summary>
public static class PeftConfigSchema
{
    /// <summary>The PEFT release whose layout the LoRA, VB-LoRA and VeRA files follow; written as <c>peft_version</c>.</summary>
    public const string FollowedPeftVersion = "0.19.1";

    /// <summary>The first PEFT release with Uni-LoRA; written as <c>peft_version</c> for Uni-LoRA.</summary>
    public const string FollowedUniLoraPeftVersion = "0.20.0";

    static readonly Dictionary<string, IReadOnlyList<PeftConfigField>> ByType = new(StringComparer.Ordinal)
    {
        [PeftTypes.Lora] = Build(PeftTypes.Lora, FollowedPeftVersion,
        [
            Null("alora_invocation_tokens"), Field("alpha_pattern", PeftFieldKind.Any, new JsonObject()), Null("arrow_config"),
            Field("bias", PeftFieldKind.Text, "none"), Null("corda_config"), Field("ensure_weight_tying", PeftFieldKind.Boolean, false),
            Null("eva_config"), Field("exclude_modules", PeftFieldKind.ModuleNames, null), Field("fan_in_fan_out", PeftFieldKind.Boolean, false),
            Field("init_lora_weights", PeftFieldKind.Any, true), Null("layer_replication"), Null("layers_pattern"), Null("layers_to_transform"),
            Field("loftq_config", PeftFieldKind.Any, new JsonObject()), Field("lora_alpha", PeftFieldKind.Number, 8, required: true),
            Field("lora_bias", PeftFieldKind.Boolean, false), Field("lora_dropout", PeftFieldKind.Number, 0.0), Null("lora_ga_config"),
            Null("megatron_config"), Field("megatron_core", PeftFieldKind.Text, "megatron.core"), Null("modules_to_save"),
            Field("qalora_group_size", PeftFieldKind.Integer, 16), Field("r", PeftFieldKind.Integer, 8, required: true),
            Field("rank_pattern", PeftFieldKind.Any, new JsonObject()), Field("target_modules", PeftFieldKind.ModuleNames, null, required: true),
            Null("target_parameters"), Null("trainable_token_indices"), Null("use_bdlora"), Field("use_dora", PeftFieldKind.Boolean, false),
            Field("use_qalora", PeftFieldKind.Boolean, false), Field("use_rslora", PeftFieldKind.Boolean, false),
        ]),
        [PeftTypes.VbLora] = Build(PeftTypes.VbLora, FollowedPeftVersion,
        [
            Field("r", PeftFieldKind.Integer, 4, required: true), Field("num_vectors", PeftFieldKind.Integer, 256, required: true),
            Field("vector_length", PeftFieldKind.Integer, 256, required: true), Field("topk", PeftFieldKind.Integer, 2, required: true),
            Field("target_modules", PeftFieldKind.ModuleNames, null, required: true), Field("exclude_modules", PeftFieldKind.ModuleNames, null),
            Field("save_only_topk_weights", PeftFieldKind.Boolean, false, required: true), Field("vblora_dropout", PeftFieldKind.Number, 0.0),
            Field("fan_in_fan_out", PeftFieldKind.Boolean, false), Field("bias", PeftFieldKind.Text, "none"), Null("modules_to_save"),
            Field("init_vector_bank_bound", PeftFieldKind.Number, 0.02), Field("init_logits_std", PeftFieldKind.Number, 0.1),
            Null("layers_to_transform"), Null("layers_pattern"),
        ]),
        [PeftTypes.Vera] = Build(PeftTypes.Vera, FollowedPeftVersion,
        [
            Field("r", PeftFieldKind.Integer, 256, required: true), Field("target_modules", PeftFieldKind.ModuleNames, null, required: true),
            Field("projection_prng_key", PeftFieldKind.Integer, 0, required: true), Field("save_projection", PeftFieldKind.Boolean, true, required: true),
            Field("vera_dropout", PeftFieldKind.Number, 0.0), Field("d_initial", PeftFieldKind.Number, 0.1),
            Field("fan_in_fan_out", PeftFieldKind.Boolean, false), Field("bias", PeftFieldKind.Text, "none"), Null("modules_to_save"),
            Field("init_weights", PeftFieldKind.Boolean, true), Null("layers_to_transform"), Null("layers_pattern"),
        ]),
        [PeftTypes.UniLora] = Build(PeftTypes.UniLora, FollowedUniLoraPeftVersion,
        [
            Field("r", PeftFieldKind.Integer, 4, required: true), Field("proj_seed", PeftFieldKind.Integer, 42, required: true),
            Field("theta_d_length", PeftFieldKind.Integer, 256, required: true), Field("target_modules", PeftFieldKind.ModuleNames, null, required: true),
            Field("unilora_dropout", PeftFieldKind.Number, 0.0), Field("fan_in_fan_out", PeftFieldKind.Boolean, false),
            Field("bias", PeftFieldKind.Text, "none"), Null("modules_to_save"), Field("init_theta_d_bound", PeftFieldKind.Number, 0.02),
            Field("init_weights", PeftFieldKind.Boolean, true), Field("save_indices", PeftFieldKind.Boolean, false),
            Null("layers_to_transform"), Null("layers_pattern"),
        ]),
    };

    /// <summary>The fields of <paramref name="peftType"/>'s config, common ones included, sorted by key as PEFT writes them.</summary>
    /// <exception cref="ArgumentException"><paramref name="peftType"/> is not one of <see cref="PeftTypes.Supported"/>.</exception>
    public static IReadOnlyList<PeftConfigField> Fields(string peftType) =>
        ByType.TryGetValue(peftType, out var fields)
            ? fields
            : throw new ArgumentException($"peft_type '{peftType}' is not supported; supported: {string.Join(", ", PeftTypes.Supported)}", nameof(peftType));

    /// <summary>Whether <paramref name="peftType"/> is one of <see cref="PeftTypes.Supported"/>.</summary>
    public static bool IsSupported(string peftType) => ByType.ContainsKey(peftType);

    // PeftConfigMixin (task_type, peft_type, auto_mapping, peft_version) and PeftConfig (base_model_name_or_path,
    // revision, inference_mode). PeftModel.save_pretrained writes inference_mode true.
    static IReadOnlyList<PeftConfigField> Build(string peftType, string peftVersion, PeftConfigField[] methodFields)
    {
        PeftConfigField[] common =
        [
            Null("auto_mapping"), Field("base_model_name_or_path", PeftFieldKind.Text, null), Field("inference_mode", PeftFieldKind.Boolean, true),
            Field("peft_type", PeftFieldKind.Text, peftType, required: true), Field("peft_version", PeftFieldKind.Text, peftVersion),
            Field("revision", PeftFieldKind.Text, null), Field("task_type", PeftFieldKind.Text, null),
        ];
        return common.Concat(methodFields).OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();
    }

    static PeftConfigField Null(string name) => new(name, PeftFieldKind.Any, null);

    static PeftConfigField Field(string name, PeftFieldKind kind, object? value, bool required = false) => new(name, kind, value switch
    {
        null => null,
        JsonNode node => node,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        double d => JsonValue.Create(d),
        _ => throw new ArgumentException($"unsupported default for {name}"),
    }, required);
}
