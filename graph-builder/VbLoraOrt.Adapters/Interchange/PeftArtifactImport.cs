using VbLoraOrt.Adapters.Registry;
using System.Text.Json;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>
/// A PEFT adapter directory read as an adapter of an artifact folder (DESIGN.md §2.8), so the artifacts' graphs can
/// evaluate it, serve it and train from it: the directory is read against the linear modules of the artifacts' own
/// base model (<see cref="PeftImporter"/>), its values are keyed by the artifacts' trainable names, and it must fit the
/// artifacts as an adapter file must (<see cref="AdapterCompatibility"/>: method, every option, targets with their
/// shapes, task and label count). PEFT records no pooling: the artifacts' is taken.
/// </summary>
public static class PeftArtifactImport
{
    // Factors the method recomputes from the values may differ from PEFT's by float rounding only.
    const double FactorTolerance = 1e-6;

    /// <summary>Reads <paramref name="directory"/> for the artifacts of <paramref name="manifest"/>.</summary>
    /// <param name="directory">The PEFT directory.</param>
    /// <param name="manifest">The artifacts' manifest.</param>
    /// <param name="method">The artifacts' method, configured as the manifest records it.</param>
    /// <param name="plan">Its plan for the manifest's targets (the names the values are keyed by).</param>
    /// <param name="baseModules">The linear modules of the artifacts' base model (the model the directory is applied to).</param>
    /// <param name="where">The artifact folder, named in errors.</param>
    /// <returns>
    /// The adapter with <see cref="StoredAdapter.Parameters"/> keyed by the artifacts' trainable names; the head's two
    /// tensors only when the directory keeps a classifier in <c>modules_to_save</c>.
    /// </returns>
    /// <exception cref="BadInputException">The directory is malformed, does not fit the model, or does not fit the artifacts (the message names the field, key or module).</exception>
    public static StoredAdapter Read(string directory, ArtifactManifest manifest, IAdapterMethod method, AdapterPlan plan,
        IReadOnlyList<LinearModule> baseModules, string where)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(plan);
        var peft = PeftImporter.Read(directory, baseModules, Path.Combine(where, ArtifactNames.BaseModel));
        var peftMethod = peft.Adapter.Method;
        string weights = Path.Combine(directory, PeftKeys.WeightsFileName);
        var described = new StoredAdapter
        {
            Path = directory,
            Method = peftMethod.Name,
            MethodOptions = AsPeftRecordsThem(peftMethod),
            Targets = peft.Plan.Targets.Select(t => t with { Path = t.Path[peft.ModulePrefix.Length..] }).ToList(),
            TargetSpec = peft.Config["target_modules"]?.ToJsonString() ?? "",
            Plan = peft.Plan,
            Task = peft.Head is { } h ? new TaskInfo(TaskKind.Classify, h.Labels, manifest.Task.Pooling, null) : manifest.Task,
            BaseModel = manifest.BaseModel,
            ArtifactsIdentity = "peft:" + Hashing.Sha256File(weights),
            Parameters = peft.Adapter.Values,
            TrainableAgain = peft.Adapter.Trainable,
            Summary = new AdapterFileSummary(weights, new FileInfo(weights).Length, peftMethod.StoredParameterCount(peft.Plan),
                peft.Head is { } c ? (long)c.Labels * (c.Hidden + 1) : 0),
        };
        AdapterCompatibility.Require(described, manifest with { MethodOptions = AsPeftRecordsThem(method) }, where);

        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (ours, theirs) in plan.Parameters.Zip(peft.Plan.Parameters, (a, b) => (a, b)))
            values[ours.Name] = peft.Adapter.Values[theirs.Name];
        RequireComposedByTheGraphs(peft, method.ComputeFactors(plan, values), directory);
        if (peft.Head is { } head)
        {
            values[ArtifactNames.HeadWeight] = head.WeightHiddenLabels();                                   // [hidden, labels]
            values[ArtifactNames.HeadBias] = head.Bias;
        }
        return described with { Plan = plan, Parameters = values };
    }

    // The options a PEFT config carries for the method, read back: what PEFT's config does not record (LoRA's
    // initialisation seed, for one) is at its default on both sides, so it is not compared; what it does record is.
    static JsonElement AsPeftRecordsThem(IAdapterMethod method)
    {
        var form = AdapterMethods.PeftFormOf(method.Name);
        var config = AdapterConfig.Create(PeftConfigSchema.Layout(form.PeftType));
        form.Describe(method, config, new PeftExportOptions());
        return form.Configure(config, "").SaveOptions();
    }

    // The artifacts' graphs compose A and B from the values as the artifacts' method does; a directory whose factors
    // they do not rebuild (VeRA projections saved by PEFT that another generator drew) would be evaluated or served wrongly.
    static void RequireComposedByTheGraphs(PeftAdapter peft, IReadOnlyList<LowRankFactors> recomputed, string directory)
    {
        foreach (var (read, ours) in peft.Adapter.Factors.Zip(recomputed))
        {
            double scale = Math.Max(read.A.Max(Math.Abs), read.B.Max(Math.Abs)) + 1e-30;
            double worst = Math.Max(MaxDifference(read.A, ours.A), MaxDifference(read.B, ours.B));
            if (worst > FactorTolerance * scale)
                throw new PeftFormatException(
                    $"{directory}: the factors of module '{read.Module.Path}' come from tensors saved in the directory that the method does not regenerate " +
                    $"(e.g. VeRA projections no generator reproduces from the seed), so the artifacts' graphs cannot apply it; merge it with `vblora-graph merge --peft` instead.");
        }
    }

    static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).DefaultIfEmpty(0).Max();
}
