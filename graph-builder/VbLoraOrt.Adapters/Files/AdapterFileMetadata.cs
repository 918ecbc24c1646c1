using System.Globalization;
using System.Text.Json;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;

namespace VbLoraOrt.Adapters.Files;

/// <summary>
/// The adapter file's <c>__metadata__</c> (safetensors allows only string values; structured ones are JSON in the
/// manifest's JSON conventions): everything needed to rebuild the adapter on the base model without the artifact
/// folder it was trained with.
/// </summary>
internal sealed record AdapterFileMetadata(
    string Method,
    JsonElement MethodOptions,
    IReadOnlyList<LinearModule> Targets,
    string TargetSpec,
    TaskInfo Task,
    BaseModelInfo BaseModel,
    string ArtifactsIdentity)
{
    /// <summary>Value of <see cref="FormatKey"/>.</summary>
    public const string FormatName = "vblora-ort-adapter";

    /// <summary>Current value of <see cref="FormatVersionKey"/>.</summary>
    public const int FormatVersion = 1;

    // "format": "pt" is what Hugging Face tools expect in a safetensors adapter's metadata; ours go beside it.
    const string TorchFormatKey = "format";
    const string FormatKey = "vblora_ort.format";
    const string FormatVersionKey = "vblora_ort.format_version";
    const string MethodKey = "method";
    const string MethodOptionsKey = "method_options";
    const string TargetsKey = "targets";
    const string TargetSpecKey = "target_spec";
    const string TaskKey = "task";
    const string BaseModelKey = "base_model";
    const string IdentityKey = "artifacts_identity";

    // The manifest's naming, without indentation: the metadata should not outweigh a KB-sized adapter.
    static readonly JsonSerializerOptions Compact = new(ArtifactManifest.JsonOptions) { WriteIndented = false };

    public static AdapterFileMetadata From(ArtifactManifest manifest) => new(
        manifest.Method, manifest.MethodOptions, manifest.Targets, manifest.TargetSpec, manifest.Task, manifest.BaseModel, manifest.Identity);

    public Dictionary<string, string> ToStrings() => new(StringComparer.Ordinal)
    {
        [TorchFormatKey] = "pt",
        [FormatKey] = FormatName,
        [FormatVersionKey] = FormatVersion.ToString(CultureInfo.InvariantCulture),
        [MethodKey] = Method,
        [MethodOptionsKey] = JsonSerializer.Serialize(MethodOptions),
        [TargetsKey] = JsonSerializer.Serialize(Targets, Compact),
        [TargetSpecKey] = TargetSpec,
        [TaskKey] = JsonSerializer.Serialize(Task, Compact),
        [BaseModelKey] = JsonSerializer.Serialize(BaseModel, Compact),
        [IdentityKey] = ArtifactsIdentity,
    };

    /// <summary>Reads the metadata; errors name the file and the key.</summary>
    public static AdapterFileMetadata Parse(StoredTensors file, IReadOnlyDictionary<string, string> metadata)
    {
        string Get(string key) => metadata.TryGetValue(key, out string? value)
            ? value
            : throw file.Bad($"metadata '{key}' is missing; this is not an adapter file written by vblora-run (format {FormatName})");
        T Json<T>(string key) where T : class
        {
            try
            {
                return JsonSerializer.Deserialize<T>(Get(key), Compact) ?? throw file.Bad($"metadata '{key}' is empty");
            }
            catch (JsonException e)
            {
                throw file.Bad($"metadata '{key}' is not valid JSON ({e.Message})");
            }
        }

        if (Get(FormatKey) != FormatName)
            throw file.Bad($"metadata '{FormatKey}' is '{metadata[FormatKey]}', not '{FormatName}'");
        if (Get(FormatVersionKey) != FormatVersion.ToString(CultureInfo.InvariantCulture))
            throw file.Bad($"adapter format version {metadata[FormatVersionKey]} is not supported by this build (it reads version {FormatVersion})");
        var options = Json<JsonDocument>(MethodOptionsKey);
        if (options.RootElement.ValueKind != JsonValueKind.Object)
            throw file.Bad($"metadata '{MethodOptionsKey}' is not a JSON object");
        var targets = Json<List<LinearModule>>(TargetsKey);
        if (targets.Count == 0)
            throw file.Bad($"metadata '{TargetsKey}' lists no targets");
        foreach (var t in targets)
            if (t is null || string.IsNullOrEmpty(t.Path) || string.IsNullOrEmpty(t.NodeName) || string.IsNullOrEmpty(t.WeightName)
                || string.IsNullOrEmpty(t.InputName) || t.InFeatures < 1 || t.OutFeatures < 1)
                throw file.Bad($"metadata '{TargetsKey}' has an incomplete target ({t?.Path ?? "null"}): each needs path, nodeName, weightName, inputName and positive in/out features");
        var task = Json<TaskInfo>(TaskKey);
        var baseModel = Json<BaseModelInfo>(BaseModelKey);
        if (task.NumLabels < 1 || baseModel.HiddenSize < 1 || string.IsNullOrEmpty(baseModel.Sha256) || string.IsNullOrEmpty(baseModel.OutputName))
            throw file.Bad($"metadata '{TaskKey}' or '{BaseModelKey}' is incomplete (labels {task.NumLabels}, hidden size {baseModel.HiddenSize})");
        return new AdapterFileMetadata(Get(MethodKey), options.RootElement.Clone(), targets, Get(TargetSpecKey), task, baseModel, Get(IdentityKey));
    }
}
