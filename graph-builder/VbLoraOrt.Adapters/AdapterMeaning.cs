using System.Text.Json;

namespace VbLoraOrt.Adapters;

/// <summary>
/// Which of a method's saved options say what a trained adapter means (DESIGN.md §8): all but the seed of the initial
/// values, which every method's options carry as <c>seed</c> and which no graph constant depends on (projections have
/// their own seeds). Adapter compatibility checks and the serving model version compare these and nothing else.
/// </summary>
public static class AdapterMeaning
{
    /// <summary>The saved name of the initial-value seed.</summary>
    public const string InitialValueSeed = "seed";

    /// <summary>The options of <paramref name="options"/> (a saved options object) that define the adapter's meaning.</summary>
    public static IEnumerable<JsonProperty> Options(JsonElement options) =>
        options.ValueKind == JsonValueKind.Object ? options.EnumerateObject().Where(p => p.Name != InitialValueSeed) : [];
}
