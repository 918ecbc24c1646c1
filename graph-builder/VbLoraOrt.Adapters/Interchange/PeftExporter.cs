using VbLoraOrt.Adapters.Registry;
using System.Text.Json.Nodes;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>What a PEFT directory is written from.</summary>
/// <param name="Method">The configured method.</param>
/// <param name="Plan">Its plan for the trained targets (module paths as in the ONNX export).</param>
/// <param name="Values">Every parameter of the plan.</param>
/// <param name="Head">The classification head, or null (embedding tasks).</param>
/// <param name="TargetModules">What to write as <c>target_modules</c>.</param>
/// <param name="BaseModelName"><c>base_model_name_or_path</c>, when known.</param>
/// <param name="ModulePrefix">Prepended to every module path (e.g. <c>bert.</c> for <c>BertForSequenceClassification</c>, whose encoder sits under <c>bert</c>).</param>
public sealed record PeftExportContent(
    IAdapterMethod Method,
    AdapterPlan Plan,
    IReadOnlyDictionary<string, float[]> Values,
    PeftHead? Head,
    IReadOnlyList<string> TargetModules,
    string? BaseModelName = null,
    string ModulePrefix = "");

/// <summary>
/// Writes an adapter as PEFT's <c>PeftModel.save_pretrained</c> lays it out (DESIGN.md §2, PEFT interchange):
/// <c>adapter_config.json</c> with every field of the method's PEFT config (ours set, PEFT's defaults elsewhere) and
/// <c>adapter_model.safetensors</c> with PEFT's keys and metadata <c>{"format": "pt"}</c>, nothing else.
/// </summary>
public static class PeftExporter
{
    /// <summary>The config and tensors for <paramref name="content"/>, nothing written.</summary>
    public static (AdapterConfig Config, IReadOnlyList<SafeTensor> Tensors) Build(PeftExportContent content, PeftExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(options);
        var form = AdapterMethods.PeftFormOf(content.Method.Name);
        var config = AdapterConfig.Create(PeftConfigSchema.Layout(form.PeftType));
        form.Describe(content.Method, config, options);
        config.SetTargetModules(content.TargetModules.Select(m => IsPath(m) ? content.ModulePrefix + m : m));
        config.Set("task_type", content.Head != null ? "SEQ_CLS" : "FEATURE_EXTRACTION");
        if (content.Head != null)
            config.Set("modules_to_save", new JsonArray(PeftHead.SequenceClassificationModules.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()));
        if (content.BaseModelName != null)
            config.Set("base_model_name_or_path", content.BaseModelName);

        var tensors = form.Encode(content.Method, content.Plan, content.Values, options).Select(t => Prefixed(t, content.ModulePrefix)).ToList();
        if (content.Head is { } head)
        {
            tensors.Add(SafeTensor.F32(head.WeightKey, [head.Labels, head.Hidden], head.Weight));
            tensors.Add(SafeTensor.F32(head.BiasKey, [head.Labels], head.Bias));
        }
        return (config, tensors);
    }

    /// <summary>
    /// Writes the directory. It must be missing or empty, unless <paramref name="overwrite"/>: then its
    /// <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> are replaced and any other file is left alone.
    /// Everything is built and checked before the first byte is written.
    /// </summary>
    /// <exception cref="UsageException">The directory holds files and <paramref name="overwrite"/> is false.</exception>
    public static void Write(string directory, PeftExportContent content, PeftExportOptions options, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var (config, tensors) = Build(content, options);
        if (File.Exists(directory))
            throw new BadInputException($"{directory}: is a file; a PEFT adapter is a directory.");
        if (!overwrite && Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            throw new UsageException(
                $"{directory} is not empty; give an empty or new directory, or --overwrite to replace its {PeftKeys.ConfigFileName} and {PeftKeys.WeightsFileName}.");
        PeftDirectory.Write(directory, config, tensors);
    }

    // A full module path (written with the prefix) rather than a short name such as "query".
    static bool IsPath(string name) => name.Contains('.');

    static SafeTensor Prefixed(SafeTensor tensor, string prefix)
    {
        const string Model = "base_model.model.";
        return prefix.Length > 0 && tensor.Name.StartsWith(Model, StringComparison.Ordinal)
            ? tensor with { Name = Model + prefix + tensor.Name[Model.Length..] }
            : tensor;
    }
}
