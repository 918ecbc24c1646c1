using System.Text.Json;
using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Methods.UniLora;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

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

    /// <summary>
    /// The method and plan a manifest describes, checked: the manifest's adapter trainables must be exactly what its
    /// method, as configured, plans for its targets (same names, shapes and order).
    /// </summary>
    /// <param name="manifest">A manifest read with <see cref="ArtifactManifest.Load"/>.</param>
    /// <param name="path">The manifest's file, named in errors.</param>
    /// <exception cref="BadInputException">The method is unknown, its options are invalid, or it plans other tensors.</exception>
    public static (IAdapterMethod Method, AdapterPlan Plan) PlanOf(ArtifactManifest manifest, string path)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        IAdapterMethod method;
        AdapterPlan plan;
        try
        {
            method = Create(manifest.Method, manifest.MethodOptions);
            plan = method.Plan(manifest.Targets);
        }
        catch (Exception e) when (e is BadInputException or ArgumentException)
        {
            throw new BadInputException($"{path}: manifest does not describe an adapter: {e.Message.TrimEnd('.')}. Re-run `vblora-graph prepare`.", e);
        }
        static string Describe(TrainableTensor t) => $"{t.Name}[{string.Join(",", t.Shape)}]";
        var listed = manifest.Trainables.Where(t => t.Group != ParameterGroups.Head).Select(Describe);
        if (!plan.Parameters.Select(Describe).SequenceEqual(listed, StringComparer.Ordinal))
            throw new BadInputException(
                $"{path}: manifest lists adapter trainables that method '{manifest.Method}' does not plan for its targets; the file was edited or damaged. Re-run `vblora-graph prepare`.");
        return (method, plan);
    }
}
