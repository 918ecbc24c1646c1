using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>What a PEFT directory holds for trained values of an artifact folder: its method, plan, head and targets.</summary>
public static class PeftRunExport
{
    /// <summary>The export content for <paramref name="values"/> (every trainable of <paramref name="manifest"/> by name).</summary>
    /// <param name="manifest">The artifacts' manifest.</param>
    /// <param name="values">Trained values by trainable name (extra entries ignored).</param>
    /// <param name="baseModelName"><c>base_model_name_or_path</c>, when known.</param>
    /// <param name="modulePrefix">Prepended to module paths (e.g. <c>bert.</c>).</param>
    /// <exception cref="BadInputException">The manifest does not describe an adapter, or a value is missing or not finite.</exception>
    public static PeftExportContent Content(ArtifactManifest manifest, IReadOnlyDictionary<string, float[]> values, string? baseModelName, string modulePrefix)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(values);
        var (method, plan) = AdapterMethods.PlanOf(manifest, "the artifacts' manifest");
        var adapterValues = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var p in plan.Parameters)
            adapterValues[p.Name] = Finite(p.Name, values);
        PeftHead? head = null;
        if (manifest.Task.Kind == TaskKind.Classify)
        {
            var weight = manifest.Trainables.Single(t => t.Name == ArtifactNames.HeadWeight);             // [hidden, labels]
            head = PeftHead.FromHiddenLabels(PeftHead.Classifier, Finite(ArtifactNames.HeadWeight, values), Finite(ArtifactNames.HeadBias, values),
                (int)weight.Shape[0], (int)weight.Shape[1]);
        }
        return new PeftExportContent(method, plan, adapterValues, head, TargetModules(manifest), baseModelName, modulePrefix);
    }

    // The user's list of names when targets were chosen by names alone (PEFT matches them as we did); otherwise every
    // target's full path, which selects exactly the trained modules.
    static IReadOnlyList<string> TargetModules(ArtifactManifest manifest)
    {
        var names = manifest.TargetSpec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        bool plainNames = names.Length > 0 && names.All(n => !n.Contains(' ')) && !manifest.TargetSpec.StartsWith("regex ", StringComparison.Ordinal);
        return plainNames ? names : manifest.Targets.Select(t => t.Path).ToArray();
    }

    static float[] Finite(string name, IReadOnlyDictionary<string, float[]> values)
    {
        if (!values.TryGetValue(name, out float[]? v))
            throw new BadInputException($"no trained value for '{name}'; the run's checkpoint does not match its artifacts.");
        int bad = Array.FindIndex(v, x => !float.IsFinite(x));
        return bad < 0 ? v : throw new BadInputException($"trained tensor '{name}' has a non-finite value ({v[bad]}) at element {bad}; export an earlier checkpoint.");
    }
}
