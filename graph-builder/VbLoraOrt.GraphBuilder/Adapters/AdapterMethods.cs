using System.Text.Json;
using VbLoraOrt.GraphBuilder.Adapters.Lora;
using VbLoraOrt.GraphBuilder.Adapters.UniLora;
using VbLoraOrt.GraphBuilder.Adapters.VbLora;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Adapters;

/// <summary>
/// The registry of adapter methods by name: creates a method from its options as stored in a manifest, so the
/// runner rebuilds exactly the method the artifacts were prepared with.
/// </summary>
public static class AdapterMethods
{
    /// <summary>Method names this build knows.</summary>
    public static IReadOnlyList<string> Names { get; } = ["vblora", "lora", "unilora"];

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The options of <paramref name="method"/> as a JSON object (for the manifest).</summary>
    public static JsonElement OptionsOf(IAdapterMethod method) => method switch
    {
        VbLoraMethod v => JsonSerializer.SerializeToElement(v.Options, Json),
        LoraMethod l => JsonSerializer.SerializeToElement(l.Options, Json),
        UniLoraMethod u => JsonSerializer.SerializeToElement(u.Options, Json),
        _ => throw new ArgumentException($"unknown adapter method type {method.GetType().Name}", nameof(method)),
    };

    /// <summary>Recreates a method from its name and <see cref="OptionsOf"/> output.</summary>
    /// <exception cref="BadInputException">Unknown method or unreadable options.</exception>
    public static IAdapterMethod Create(string name, JsonElement options)
    {
        try
        {
            return name switch
            {
                "vblora" => new VbLoraMethod(options.Deserialize<VbLoraOptions>(Json) ?? new VbLoraOptions()),
                "lora" => new LoraMethod(options.Deserialize<LoraOptions>(Json) ?? new LoraOptions()),
                "unilora" => new UniLoraMethod(options.Deserialize<UniLoraOptions>(Json) ?? new UniLoraOptions()),
                _ => throw new BadInputException($"adapter method '{name}' is not known to this build (known: {string.Join(", ", Names)})."),
            };
        }
        catch (JsonException e)
        {
            throw new BadInputException($"options of adapter method '{name}' are unreadable: {e.Message}", e);
        }
    }
}
