using System.Text.Json;

namespace VbLoraOrt.Adapters;

/// <summary>
/// How a method's options class is written into manifests and adapter files and read back: camel-case JSON, one
/// convention for every method.
/// </summary>
public static class MethodOptionsJson
{
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary><paramref name="options"/> as a JSON object.</summary>
    public static JsonElement Save<T>(T options) => JsonSerializer.SerializeToElement(options, Json);

    /// <summary>The options class read back from <paramref name="json"/> (missing members keep their defaults).</summary>
    /// <exception cref="JsonException">The JSON does not describe <typeparamref name="T"/>.</exception>
    public static T Load<T>(JsonElement json) where T : new() => json.Deserialize<T>(Json) ?? new T();
}
