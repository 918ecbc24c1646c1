using Onnx;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Merging;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Differentiation.Pruning;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Merge;

/// <summary>
/// Writes the fine-tuned model for inference: the base model with the adapter folded into its weights
/// (<see cref="AdapterMerger"/>) and the trained task head appended with its values as initializers, so the model
/// outputs <c>logits</c> (classify) or <c>embeddings</c> (embed) beside the base's own outputs. The encoder part has
/// exactly the base's nodes: no adapter op is left, so inference costs what the base costs plus the head.
/// <para>
/// The model is saved with its tensors in one data file beside it, <c>&lt;model name without extension&gt;.&lt;content
/// hash&gt;.data</c>, self-contained (no reference back into the artifact folder), and its vocabulary as
/// <c>&lt;model name&gt;.vocab.txt</c> (or, when a different file has that name, <c>&lt;model name&gt;.vocab.&lt;hash&gt;.txt</c>):
/// names that never take over a file already there. The model records how it was trained to be used (task, class names,
/// tokenizer settings, maximum length, the vocabulary's hash; DESIGN.md §8), and eval/infer read them. The data file and
/// vocabulary are written first, then the model, each atomically; an existing model is replaced only when asked
/// (<c>overwrite</c>), and then the previous export's data file is deleted last. A crash at any point leaves a usable
/// pair: the previous one or the new one.
/// </para>
/// </summary>
public static class MergedModelExporter
{
    /// <summary>Metadata key of the merged model's task (<see cref="TaskInfo"/> as JSON, with class names when known).</summary>
    public const string TaskMetadataKey = "vblora_ort.task";

    /// <summary>Metadata key of the merged model's tokenizer settings (<see cref="TokenizerInfo"/> as JSON; the vocabulary
    /// file is named relative to the model).</summary>
    public const string TokenizerMetadataKey = "vblora_ort.tokenizer";

    /// <summary>The task recorded in a merged model, or null when it has none.</summary>
    /// <exception cref="BadInputException">The recorded task is not readable.</exception>
    public static TaskInfo? ReadTask(OnnxModel merged) => ReadMetadata<TaskInfo>(merged, TaskMetadataKey);

    /// <summary>The tokenizer settings recorded in a merged model, or null in models exported before they were recorded.</summary>
    /// <exception cref="BadInputException">The recorded settings are not readable or name a file outside the model's folder.</exception>
    public static TokenizerInfo? ReadTokenizer(OnnxModel merged)
    {
        var info = ReadMetadata<TokenizerInfo>(merged, TokenizerMetadataKey);
        if (info != null && (string.IsNullOrEmpty(info.VocabFile) || Path.GetFileName(info.VocabFile) != info.VocabFile || info.MaxLength < 2))
            throw new BadInputException($"{merged.SourcePath}: metadata '{TokenizerMetadataKey}' is damaged (vocabulary '{info.VocabFile}', maximum length {info.MaxLength}); export the model again.");
        return info;
    }

    static T? ReadMetadata<T>(OnnxModel merged, string key) where T : class
    {
        ArgumentNullException.ThrowIfNull(merged);
        string? json = merged.Proto.MetadataProps.FirstOrDefault(p => p.Key == key)?.Value;
        if (json == null)
            return null;
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<T>(json, ArtifactManifest.JsonOptions)
                ?? throw new BadInputException($"{merged.SourcePath}: metadata '{key}' is empty; export the model again.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new BadInputException($"{merged.SourcePath}: metadata '{key}' is not readable ({e.Message}); export the model again.", e);
        }
    }

    /// <summary>Merges trained values (e.g. from the runner's last checkpoint) into the artifact folder's base model.</summary>
    /// <param name="artifactsDir">The folder written by <c>vblora-graph prepare</c>.</param>
    /// <param name="manifest">Its manifest.</param>
    /// <param name="values">Every trainable tensor by name (adapter and head), row-major; extra entries are ignored.</param>
    /// <param name="outPath">The merged model to write, e.g. <c>merged.onnx</c>.</param>
    /// <param name="taskOutputOnly">
    /// Keep only the task output (drop the base model's own outputs) and compute only what it reads: with CLS pooling
    /// the last layer then runs at the first position only (<see cref="PositionPruning"/>), an exact
    /// rewrite that makes inference faster than the base model's. Default false: the base graph, unchanged.
    /// </param>
    /// <param name="overwrite">Replace a model already at <paramref name="outPath"/> (else it is refused).</param>
    /// <exception cref="BadInputException">The folder's base model is missing or does not match the targets.</exception>
    /// <exception cref="BadInputException">A head value is missing.</exception>
    /// <exception cref="UsageException">A file is at <paramref name="outPath"/> and <paramref name="overwrite"/> is false.</exception>
    public static void Export(string artifactsDir, ArtifactManifest manifest, IReadOnlyDictionary<string, float[]> values, string outPath,
        bool taskOutputOnly = false, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(artifactsDir);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(outPath);
        var method = AdapterMethods.Create(manifest.Method, manifest.MethodOptions).WithArtifactFiles(artifactsDir);
        Export(LoadBase(artifactsDir, manifest.BaseModel), method, method.Plan(manifest.Targets), manifest.Task, manifest.BaseModel,
            values, manifest.Identity, Vocabulary(artifactsDir, manifest), new Output(outPath, taskOutputOnly, overwrite));
    }

    /// <summary>Merges a shipped adapter file into the base model of an artifact folder prepared for the same base model.</summary>
    /// <param name="artifactsDir">A folder written by <c>vblora-graph prepare</c> from the adapter's base model.</param>
    /// <param name="adapter">The adapter, from <see cref="AdapterFile.Load"/>.</param>
    /// <param name="outPath">The merged model to write.</param>
    /// <param name="overwrite">Replace a model already at <paramref name="outPath"/> (else it is refused).</param>
    /// <exception cref="BadInputException">The folder was prepared from another base model, or its base model does not match the targets.</exception>
    public static void Export(string artifactsDir, StoredAdapter adapter, string outPath, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(artifactsDir);
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(outPath);
        string manifestPath = Path.Combine(artifactsDir, ArtifactNames.Manifest);
        var manifest = ArtifactManifest.Load(manifestPath);
        AdapterMethods.PlanOf(manifest, manifestPath);
        manifest.VerifyFiles(artifactsDir);
        RequireSameBase(adapter, manifest.BaseModel.Sha256, $"the artifacts in {artifactsDir}");
        Export(LoadBase(artifactsDir, manifest.BaseModel), adapter, adapter.CreateMethod().WithArtifactFiles(artifactsDir),
            Vocabulary(artifactsDir, manifest), new Output(outPath, false, overwrite));
    }

    /// <summary>Merges a shipped adapter file into the exported model it was trained on (checked by SHA-256).</summary>
    /// <param name="baseModelPath">The original exported model, e.g. <c>model.onnx</c>.</param>
    /// <param name="adapter">The adapter, from <see cref="AdapterFile.Load"/>.</param>
    /// <param name="outPath">The merged model to write.</param>
    /// <param name="overwrite">Replace a model already at <paramref name="outPath"/> (else it is refused).</param>
    /// <exception cref="BadInputException">The model is missing, is another model, or does not match the targets.</exception>
    public static void ExportWithBaseModel(string baseModelPath, StoredAdapter adapter, string outPath, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(baseModelPath);
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(outPath);
        if (!File.Exists(baseModelPath))
            throw new BadInputException($"{baseModelPath}: base model not found.");
        RequireSameBase(adapter, Hashing.Sha256File(baseModelPath), baseModelPath);
        Export(OnnxModel.Load(baseModelPath), adapter, adapter.CreateMethod(), vocabulary: null, new Output(outPath, false, overwrite));
    }

    static void Export(OnnxModel baseModel, StoredAdapter adapter, IAdapterMethod method, SourceVocabulary? vocabulary, Output output) =>
        Export(baseModel, method, adapter.Plan, adapter.Task, adapter.BaseModel, adapter.Parameters, adapter.ArtifactsIdentity,
            vocabulary, output);

    // Where the merged model goes and how.
    readonly record struct Output(string Path, bool TaskOutputOnly, bool Overwrite);

    // The vocabulary the model was trained with: the artifact folder's file and its settings.
    sealed record SourceVocabulary(string Path, TokenizerInfo Settings);

    static SourceVocabulary? Vocabulary(string artifactsDir, ArtifactManifest manifest)
    {
        string path = System.IO.Path.Combine(artifactsDir, manifest.Tokenizer.VocabFile);
        return File.Exists(path) ? new SourceVocabulary(path, manifest.Tokenizer) : null;
    }

    // Trained values through the method's factors, then the one path below.
    static void Export(OnnxModel baseModel, IAdapterMethod method, AdapterPlan plan, TaskInfo task, BaseModelInfo info,
        IReadOnlyDictionary<string, float[]> values, string identity, SourceVocabulary? vocabulary, Output output)
    {
        RequireWritable(output, baseModel);
        var adapterValues = plan.Parameters.Where(p => values.ContainsKey(p.Name)).ToDictionary(p => p.Name, p => values[p.Name]);
        ExportFactors(baseModel, method.ComputeFactors(plan, adapterValues), method.Name, task, info, values, identity, vocabulary, output);
    }

    /// <summary>
    /// Folds <paramref name="factors"/> into <paramref name="baseModel"/>, appends the head of <paramref name="task"/>
    /// (none when null) with its values from <paramref name="values"/>, and saves the result as every merged export is saved.
    /// </summary>
    /// <exception cref="BadInputException">A target does not match the model, the head cannot be attached, or a head value is missing.</exception>
    /// <exception cref="UsageException">A file is at <paramref name="outPath"/> and <paramref name="overwrite"/> is false.</exception>
    public static void ExportFactors(OnnxModel baseModel, IReadOnlyList<LowRankFactors> factors, string methodName, TaskInfo? task, BaseModelInfo info,
        IReadOnlyDictionary<string, float[]> values, string identity, string outPath, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        ArgumentNullException.ThrowIfNull(factors);
        var output = new Output(outPath, TaskOutputOnly: false, overwrite);
        RequireWritable(output, baseModel);
        ExportFactors(baseModel, factors, methodName, task, info, values, identity, vocabulary: null, output);
    }

    // The one path: fold the factors, append the head, save.
    static void ExportFactors(OnnxModel baseModel, IReadOnlyList<LowRankFactors> factors, string methodName, TaskInfo? task, BaseModelInfo info,
        IReadOnlyDictionary<string, float[]> values, string identity, SourceVocabulary? vocabulary, Output output)
    {
        OnnxModel merged = AdapterMerger.Merge(baseModel, factors);
        if (task != null)
            AppendHead(merged, baseModel, task, info, values, output.TaskOutputOnly);
        Save(merged, methodName, identity, task, vocabulary, output.Path);
    }

    // The rule every output file follows (OutputPaths), with the base model as the input it must never replace.
    static void RequireWritable(Output output, OnnxModel baseModel) =>
        OutputPaths.RequireWritableFile("merged model", output.Path, output.Overwrite, baseModel.SourcePath is { } source ? [source] : []);

    static void AppendHead(OnnxModel merged, OnnxModel baseModel, TaskInfo task, BaseModelInfo info, IReadOnlyDictionary<string, float[]> values,
        bool taskOutputOnly)
    {
        var options = new TaskOptions { Kind = task.Kind, NumLabels = task.NumLabels, Pooling = task.Pooling };
        if (NeedsMask(options) && merged.Graph.Input.All(i => i.Name != info.AttentionMaskInput))
            throw new BadInputException(
                $"{baseModel.SourcePath}: the {task.Kind} head pools over '{info.AttentionMaskInput}', but the model has no such input (inputs: {string.Join(", ", merged.Graph.Input.Select(i => i.Name))}).");
        var head = TaskHead.Append(merged, options, info.OutputName, info.AttentionMaskInput, info.HiddenSize, withLoss: false, headAsInputs: false,
            seed: 0, HeadValues(options, values));
        if (taskOutputOnly)
        {
            var taskOutput = merged.Graph.Output.Single(o => o.Name == head.OutputName);
            merged.Graph.Output.Clear();
            merged.Graph.Output.Add(taskOutput);
            if (!PositionPruning.Apply(merged).Changed)
                UnusedNodes.Remove(merged.Graph);
        }
    }

    static void Save(OnnxModel merged, string methodName, string identity, TaskInfo? task, SourceVocabulary? vocabulary, string outPath)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(outPath))!);
        var tokenizer = vocabulary == null ? null : MergedVocabulary.Place(vocabulary.Path, vocabulary.Settings, outPath);
        Describe(merged.Proto, methodName, identity, task, tokenizer);
        var replaced = DataFilesOf(outPath);
        merged.Save(outPath, new ExternalDataOptions
        {
            FileName = Path.GetFileNameWithoutExtension(outPath) + ".data",
            ShareExistingFiles = false,
            NameByContent = true,
        });
        // Only now that the new model points at its own data file is the previous pair's data file unused.
        foreach (string stale in replaced.Except(DataFilesOf(outPath)))
            File.Delete(stale);
    }

    // The external data files a model at `path` uses; none when there is no (readable) model there.
    static HashSet<string> DataFilesOf(string path)
    {
        var files = new HashSet<string>(StringComparer.Ordinal);
        if (!File.Exists(path))
            return files;
        try
        {
            var model = OnnxModel.Load(path);
            foreach (var tensor in model.Graph.Initializer.Where(TensorStore.IsExternal))
                files.Add(model.Tensors.ResolveExternal(tensor).Path);
        }
        catch (BadInputException)
        {
            // a damaged previous export: leave its files alone
        }
        return files;
    }

    static bool NeedsMask(TaskOptions options) => options.Kind == TaskKind.Embed || options.Pooling == Pooling.Mean;

    static Dictionary<string, float[]>? HeadValues(TaskOptions options, IReadOnlyDictionary<string, float[]> values)
    {
        if (options.Kind != TaskKind.Classify)
            return null;
        var head = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (string name in new[] { ArtifactNames.HeadWeight, ArtifactNames.HeadBias })
            head[name] = values.TryGetValue(name, out float[]? v)
                ? v
                : throw new BadInputException($"no value for head tensor '{name}'; a merged classifier needs the trained head.");
        return head;
    }

    static OnnxModel LoadBase(string artifactsDir, BaseModelInfo info)
    {
        string path = Path.Combine(artifactsDir, info.FileName);
        if (!File.Exists(path))
            throw new BadInputException($"{path}: base model not found; point at a folder written by `vblora-graph prepare`.");
        return OnnxModel.Load(path);
    }

    static void RequireSameBase(StoredAdapter adapter, string sha256, string where)
    {
        if (!string.Equals(adapter.BaseModel.Sha256, sha256, StringComparison.OrdinalIgnoreCase))
            throw new BadInputException(
                $"{adapter.Path}: the adapter was trained on base model {adapter.BaseModel.FileName} (sha256 {adapter.BaseModel.Sha256}), " +
                $"but {where} has sha256 {sha256}; merge it into the model it was trained on.");
    }

    // Provenance for people and tools reading the merged model.
    static void Describe(ModelProto model, string method, string identity, TaskInfo? task, TokenizerInfo? tokenizer)
    {
        void Set(string key, string value)
        {
            var existing = model.MetadataProps.FirstOrDefault(p => p.Key == key);
            if (existing != null)
                existing.Value = value;
            else
                model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        Set("vblora_ort.merged_adapter_method", method);
        Set("vblora_ort.artifacts_identity", identity);
        if (task != null)
            Set(TaskMetadataKey, System.Text.Json.JsonSerializer.Serialize(task, ArtifactManifest.JsonOptions));
        if (tokenizer != null)
            Set(TokenizerMetadataKey, System.Text.Json.JsonSerializer.Serialize(tokenizer, ArtifactManifest.JsonOptions));
    }
}
