using System.Text.Json.Nodes;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Registry;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>
/// Every field PEFT's <c>save_pretrained</c> writes into <c>adapter_config.json</c> for each <c>peft_type</c> the registry
/// knows (<see cref="AdapterMethods.PeftLayouts"/>), with PEFT's defaults. PEFT writes <c>dataclasses.asdict(config)</c>
/// (sets turned into lists) with <c>json.dumps(indent=2, sort_keys=True)</c> (<c>config.py</c>,
/// <c>PeftConfigMixin.save_pretrained</c>), so the key set is exactly the config class's fields: the common ones of
/// <c>PeftConfigMixin</c>/<c>PeftConfig</c> plus the method's (<see cref="PeftLayout.Fields"/>; each method's folder holds its layout;
/// <c>tests/VbLoraOrt.Tests/Peft/Fixtures/README.md</c> gives field-by-field references).
/// </summary>
public static class PeftConfigSchema
{
    static readonly Dictionary<string, PeftLayout> Layouts = AdapterMethods.PeftLayouts.ToDictionary(l => l.PeftType, StringComparer.Ordinal);

    /// <summary>Every supported <c>peft_type</c>, in the registry's order.</summary>
    public static IReadOnlyList<string> Supported { get; } = AdapterMethods.PeftLayouts.Select(l => l.PeftType).ToArray();

    /// <summary>The fields of <paramref name="peftType"/>'s config, common ones included, sorted by key as PEFT writes them.</summary>
    /// <exception cref="ArgumentException"><paramref name="peftType"/> is not one of <see cref="Supported"/>.</exception>
    public static IReadOnlyList<PeftConfigField> Fields(string peftType) => Layout(peftType).Fields;

    /// <summary>The layout of <paramref name="peftType"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="peftType"/> is not one of <see cref="Supported"/>.</exception>
    public static PeftLayout Layout(string peftType) =>
        Layouts.TryGetValue(peftType, out var layout)
            ? layout
            : throw new ArgumentException($"peft_type '{peftType}' is not supported; supported: {string.Join(", ", Supported)}", nameof(peftType));

    /// <summary>Whether <paramref name="peftType"/> is one of <see cref="Supported"/>.</summary>
    public static bool IsSupported(string peftType) => Layouts.ContainsKey(peftType);
}
