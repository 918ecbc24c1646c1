using System.Text.Json.Nodes;

namespace VbLoraOrt.Adapters.Peft;

/// <summary>One field of a PEFT config class as <c>save_pretrained</c> writes it.</summary>
/// <param name="Name">The JSON key, exactly as PEFT names the dataclass field.</param>
/// <param name="Kind">The JSON shape its non-null value must have.</param>
/// <param name="Default">PEFT's default (as PEFT would write it), or null for Python <c>None</c>.</param>
/// <param name="Required">
/// Whether reading refuses a config without it. PEFT itself fills any missing field with its default, but every file
/// PEFT writes has every field; a field that decides the shape or the value of ΔW and is missing means the file was
/// not written by <c>save_pretrained</c>, and guessing PEFT's default there could give a silently wrong adapter.
/// </param>
public sealed record PeftConfigField(string Name, PeftFieldKind Kind, JsonNode? Default, bool Required = false)
{
    /// <summary>A copy of <see cref="Default"/> that can be placed in another JSON tree.</summary>
    public JsonNode? DefaultCopy() => Default?.DeepClone();

    /// <summary>A field whose default is Python's <c>None</c>.</summary>
    public static PeftConfigField NoneDefault(string name) => new(name, PeftFieldKind.Any, null);

    /// <summary>A field of <paramref name="kind"/> with PEFT's <paramref name="value"/> (string, bool, int, double, a JSON node, or null).</summary>
    public static PeftConfigField Of(string name, PeftFieldKind kind, object? value, bool required = false) => new(name, kind, value switch
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
