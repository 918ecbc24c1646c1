using System.Text.Json.Nodes;

namespace VbLoraOrt.Adapters.Peft;

/// <summary>Reading and writing config values the way PEFT's forms need them.</summary>
public static class PeftFields
{
    /// <summary>
    /// <paramref name="value"/> as Python would print the number a user passed: an int when it is integral (e.g.
    /// <c>lora_alpha=16</c>), a float otherwise.
    /// </summary>
    public static JsonNode Number(double value) =>
        value == Math.Floor(value) && Math.Abs(value) <= int.MaxValue ? JsonValue.Create((int)value) : JsonValue.Create(value);

    /// <summary>Throws unless field <paramref name="name"/> of <paramref name="config"/> holds <paramref name="supported"/> (JSON equality; null for <c>None</c>).</summary>
    /// <exception cref="PeftFormatException">It holds something else; the message names the field and what is supported.</exception>
    public static void Require(AdapterConfig config, string source, string name, JsonNode? supported, string why)
    {
        var value = config[name];
        bool same = value is null ? supported is null || IsEmptyObject(supported) : JsonNode.DeepEquals(value, supported) || supported is null && IsEmptyObject(value);
        if (!same)
            throw new PeftFormatException(
                $"{source}: field '{name}' is {value?.ToJsonString() ?? "null"}; this build supports only {supported?.ToJsonString() ?? "null"} there ({why}).");
    }

    static bool IsEmptyObject(JsonNode node) => node is JsonObject { Count: 0 };
}
