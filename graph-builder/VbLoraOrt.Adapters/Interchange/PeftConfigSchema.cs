using System.Text.Json.Nodes;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Registry;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>
/// Every field PEFT's <c>save_pretrained</c> writes into <c>adapter_config.json</c> for each <c>peft_type</c> the registry
/// knows (<see cref="AdapterMethods.PeftLayouts"/>), with PEFT's defaults. PEFT writes <c>dataclasses.asdict(config)</c>
/// (sets turned into lists) with <c>json.dumps(indent=2, sort_keys=True)</c> (<c>config.py</c>,
/// <c>PeftConfigMixin.save_pretrained</c>), so the key set is exactly the config class's fields: the common ones of
/// <c>PeftConfigMixin</c>/<c>PeftConfig</c> plus the method's (each method's folder holds its <see cref="PeftLayout"/>;
/// <c>tests/VbLoraOrt.Tests/Peft/Fixtures/README.md</c> gives field-by-field references).
/// </summary>
public static class PeftConfigSchema
{
    static readonly Dictionary<string, PeftLayout> Layouts = AdapterMethods.PeftLayouts.ToDictionary(l => l.PeftType, StringComparer.Ordinal);

    static readonly Dictionary<string, IReadOnlyList<PeftConfigField>> ByType =
        Layouts.Values.ToDictionary(l => l.PeftType, Build, StringComparer.Ordinal);

    /// <summary>Every supported <c>peft_type</c>, in the registry's order.</summary>
    public static IReadOnlyList<string> Supported { get; } = AdapterMethods.PeftLayouts.Select(l => l.PeftType).ToArray();

    /// <summary>The fields of <paramref name="peftType"/>'s config, common ones included, sorted by key as PEFT writes them.</summary>
    /// <exception cref="ArgumentException"><paramref name="peftType"/> is not one of <see cref="Supported"/>.</exception>
    public static IReadOnlyList<PeftConfigField> Fields(string peftType) =>
        ByType.TryGetValue(peftType, out var fields)
            ? fields
            : throw new ArgumentException($"peft_type '{peftType}' is not supported; supported: {string.Join(", ", Supported)}", nameof(peftType));

    /// <summary>The layout of <paramref name="peftType"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="peftType"/> is not one of <see cref="Supported"/>.</exception>
    public static PeftLayout Layout(string peftType) =>
        Layouts.TryGetValue(peftType, out var layout)
            ? layout
            : throw new ArgumentException($"peft_type '{peftType}' is not supported; supported: {string.Join(", ", Supported)}", nameof(peftType));

    /// <summary>Whether <paramref name="peftType"/> is one of <see cref="Supported"/>.</summary>
    public static bool IsSupported(string peftType) => ByType.ContainsKey(peftType);

    // PeftConfigMixin (task_type, peft_type, auto_mapping, peft_version) and PeftConfig (base_model_name_or_path,
    // revision, inference_mode). PeftModel.save_pretrained writes inference_mode true.
    static IReadOnlyList<PeftConfigField> Build(PeftLayout layout)
    {
        PeftConfigField[] common =
        [
            PeftConfigField.NoneDefault("auto_mapping"), PeftConfigField.Of("base_model_name_or_path", PeftFieldKind.Text, null),
            PeftConfigField.Of("inference_mode", PeftFieldKind.Boolean, true),
            PeftConfigField.Of("peft_type", PeftFieldKind.Text, layout.PeftType, required: true),
            PeftConfigField.Of("peft_version", PeftFieldKind.Text, layout.PeftVersion),
            PeftConfigField.Of("revision", PeftFieldKind.Text, null), PeftConfigField.Of("task_type", PeftFieldKind.Text, null),
        ];
        return common.Concat(layout.MethodFields).OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();
    }
}
