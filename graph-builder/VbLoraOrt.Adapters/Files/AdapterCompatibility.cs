using System.Text.Json;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Files;

/// <summary>
/// Whether a stored adapter can be applied through an artifact folder's graphs (DESIGN.md §8): same base model, method,
/// method options, targets with their shapes, task and label count. The first difference is reported by name with both
/// values, so an adapter of another model, another top-k or another task is refused instead of evaluated to a number.
/// </summary>
public static class AdapterCompatibility
{
    /// <summary>Checks <paramref name="adapter"/> against <paramref name="manifest"/> (read from <paramref name="where"/>).</summary>
    /// <exception cref="BadInputException">They differ; the message names what differs and both values.</exception>
    public static void Require(StoredAdapter adapter, ArtifactManifest manifest, string where)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(manifest);
        if (Difference(adapter, manifest) is { } d)
            throw new BadInputException(
                $"{adapter.Path}: does not fit the artifacts of {where}: {d.What} differs (adapter: {d.Adapter}; artifacts: {d.Artifacts}). " +
                "Use the artifact folder the adapter was trained with, or prepare one with the same model, method options, targets and task.");
    }

    /// <summary>The first difference, or null when the adapter fits.</summary>
    public static (string What, string Adapter, string Artifacts)? Difference(StoredAdapter adapter, ArtifactManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(manifest);
        if (!string.Equals(adapter.BaseModel.Sha256, manifest.BaseModel.Sha256, StringComparison.OrdinalIgnoreCase))
            return ("base model", $"{adapter.BaseModel.FileName} sha256 {Short(adapter.BaseModel.Sha256)}", $"{manifest.BaseModel.FileName} sha256 {Short(manifest.BaseModel.Sha256)}");
        if (adapter.Method != manifest.Method)
            return ("method", adapter.Method, manifest.Method);
        if (OptionsDifference(adapter.MethodOptions, manifest.MethodOptions) is { } option)
            return option;
        if (TargetsDifference(adapter.Targets, manifest.Targets) is { } target)
            return target;
        if (adapter.Task.Kind != manifest.Task.Kind)
            return ("task", adapter.Task.Kind.ToString().ToLowerInvariant(), manifest.Task.Kind.ToString().ToLowerInvariant());
        if (adapter.Task.NumLabels != manifest.Task.NumLabels)
            return ("label count", adapter.Task.NumLabels.ToString(System.Globalization.CultureInfo.InvariantCulture),
                manifest.Task.NumLabels.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (adapter.Task.Kind == TaskKind.Classify && adapter.Task.Pooling != manifest.Task.Pooling)
            return ("pooling", adapter.Task.Pooling.ToString().ToLowerInvariant(), manifest.Task.Pooling.ToString().ToLowerInvariant());
        return null;
    }

    // Options that define the adapter (AdapterMeaning) compared by name: a missing or different value is reported with its name.
    static (string, string, string)? OptionsDifference(JsonElement adapter, JsonElement manifest)
    {
        var a = Properties(adapter);
        var m = Properties(manifest);
        foreach (string name in a.Keys.Union(m.Keys).Order(StringComparer.Ordinal))
        {
            string av = a.TryGetValue(name, out var x) ? x : "(none)", mv = m.TryGetValue(name, out var y) ? y : "(none)";
            if (av != mv)
                return ($"method option '{name}'", av, mv);
        }
        return null;
    }

    static Dictionary<string, string> Properties(JsonElement options) =>
        AdapterMeaning.Options(options).ToDictionary(p => p.Name, p => p.Value.GetRawText(), StringComparer.Ordinal);

    // The first target that differs in path or shape, or a different count.
    static (string, string, string)? TargetsDifference(IReadOnlyList<LinearModule> adapter, IReadOnlyList<LinearModule> manifest)
    {
        for (int i = 0; i < Math.Min(adapter.Count, manifest.Count); i++)
            if (Describe(adapter[i]) != Describe(manifest[i]))
                return ($"target {i + 1}", Describe(adapter[i]), Describe(manifest[i]));
        return adapter.Count == manifest.Count ? null : ("number of targets", $"{adapter.Count}", $"{manifest.Count}");
    }

    static string Describe(LinearModule t) => $"{t.Path} [{t.InFeatures}→{t.OutFeatures}]";

    static string Short(string sha) => sha.Length > 12 ? sha[..12] + "…" : sha;
}
