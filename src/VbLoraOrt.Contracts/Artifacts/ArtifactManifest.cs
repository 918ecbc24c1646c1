using System.Text.Json;
using System.Text.Json.Serialization;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Contracts.Artifacts;

/// <summary>
/// <c>manifest.json</c>: everything the runner needs to know about a prepared artifact folder, and what a
/// person needs to reproduce it. Written by <c>vblora-graph prepare</c>, read by <c>vblora-run</c>.
/// </summary>
public sealed record ArtifactManifest
{
    /// <summary>Current <see cref="FormatVersion"/>.</summary>
    public const int CurrentFormat = 1;

    /// <summary>Manifest format version.</summary>
    public int FormatVersion { get; init; } = CurrentFormat;

    /// <summary>The base model the artifacts were built from.</summary>
    public required BaseModelInfo BaseModel { get; init; }

    /// <summary>Adapter method name (<c>vblora</c>…).</summary>
    public required string Method { get; init; }

    /// <summary>The method's options as given (JSON object).</summary>
    public required JsonElement MethodOptions { get; init; }

    /// <summary>Adapted modules, in model order.</summary>
    public required IReadOnlyList<LinearModule> Targets { get; init; }

    /// <summary>The target specification as the user wrote it.</summary>
    public required string TargetSpec { get; init; }

    /// <summary>Trainable tensors in the order of the training graph's inputs and gradient outputs.</summary>
    public required IReadOnlyList<TrainableTensor> Trainables { get; init; }

    /// <summary>Model data inputs (e.g. input_ids, attention_mask, token_type_ids).</summary>
    public required IReadOnlyList<string> DataInputs { get; init; }

    /// <summary>Label inputs of the loss (empty for embed).</summary>
    public required IReadOnlyList<string> LabelInputs { get; init; }

    /// <summary>Task options.</summary>
    public required TaskInfo Task { get; init; }

    /// <summary>Tokenizer hints.</summary>
    public required TokenizerInfo Tokenizer { get; init; }

    /// <summary>Parameter counts.</summary>
    public required ParameterCounts Counts { get; init; }

    /// <summary>Seed of the initial values.</summary>
    public long Seed { get; init; }

    /// <summary>
    /// The head-only training graph's file (<see cref="ArtifactNames.HeadOnlyTrainingModel"/>): the inputs of the
    /// training graph, outputs <c>loss</c> and the gradients of the head's tensors only. Null in manifests written
    /// before it was emitted, and for tasks without head tensors; a head-only run then steps the full training graph
    /// with the adapter frozen.
    /// </summary>
    public string? HeadOnlyTrainingModel { get; init; }

    /// <summary>
    /// SHA-256 (hex) of every file <c>prepare</c> wrote into the folder, by file name: a damaged, truncated or swapped
    /// file (another folder's optimizer model, a half-copied <c>weights.bin</c>) is refused by <see cref="VerifyFiles"/>
    /// before anything runs on it. Null in manifests written before it was recorded.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Files { get; init; }

    /// <summary>Checks every file of <see cref="Files"/> in <paramref name="directory"/> against its recorded hash.</summary>
    /// <exception cref="BadInputException">A file is missing or differs (the message names it and what to do).</exception>
    public void VerifyFiles(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        foreach (var (name, sha) in Files ?? new Dictionary<string, string>())
        {
            string path = Path.Combine(directory, name);
            if (!File.Exists(path))
                throw new BadInputException($"{path}: missing from the artifact folder; re-run `vblora-graph prepare`.");
            string actual = Hashing.Sha256File(path);
            if (!string.Equals(actual, sha, StringComparison.OrdinalIgnoreCase))
                throw new BadInputException(
                    $"{path}: does not match this folder's manifest (SHA-256 {actual[..12]}…, recorded {sha[..Math.Min(12, sha.Length)]}…); the file is damaged or comes from other artifacts. Re-run `vblora-graph prepare`.");
        }
    }

    /// <summary>The hashes of <paramref name="names"/> in <paramref name="directory"/> that exist, for <see cref="Files"/>.</summary>
    public static IReadOnlyDictionary<string, string> HashFiles(string directory, IEnumerable<string> names) =>
        names.Distinct(StringComparer.Ordinal).Where(n => File.Exists(Path.Combine(directory, n)))
            .ToDictionary(n => n, n => Hashing.Sha256File(Path.Combine(directory, n)), StringComparer.Ordinal);

    /// <summary>
    /// Identity of these artifacts for checkpoints: a hash of the base model, method, targets and trainable
    /// tensor shapes. A checkpoint with another identity is refused.
    /// </summary>
    public string Identity => Hashing.Sha256Hex(string.Join('\n',
        [BaseModel.Sha256, Method, JsonSerializer.Serialize(MethodOptions), .. Targets.Select(t => t.Path),
         .. Trainables.Select(t => $"{t.Name}:{string.Join('x', t.Shape)}:{t.Group}"), Task.Kind.ToString(), Task.NumLabels.ToString(System.Globalization.CultureInfo.InvariantCulture)]));

    /// <summary>JSON options used for reading and writing manifests.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Writes the manifest atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions));

    /// <summary>Reads and checks a manifest.</summary>
    /// <exception cref="BadInputException">Missing, unreadable, or of another format version.</exception>
    public static ArtifactManifest Load(string path)
    {
        if (!File.Exists(path))
            throw new BadInputException($"{path}: manifest not found. Point --artifacts at a folder written by `vblora-graph prepare`.");
        if (new FileInfo(path).Length > 64 << 20)
            throw new BadInputException($"{path}: manifest is larger than 64 MiB; this is not a manifest written by vblora-graph.");
        ArtifactManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ArtifactManifest>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{path}: manifest is not valid JSON ({e.Message}). Re-run `vblora-graph prepare`.", e);
        }
        if (manifest == null)
            throw new BadInputException($"{path}: manifest is empty.");
        if (manifest.FormatVersion != CurrentFormat)
            throw new BadInputException($"{path}: manifest format {manifest.FormatVersion} is not supported (expected {CurrentFormat}); re-run `vblora-graph prepare` with this version.");
        if (manifest.Problem() is { } problem)
            throw new BadInputException($"{path}: manifest {problem}; the file was edited or damaged. Re-run `vblora-graph prepare`.");
        return manifest;
    }

    // JSON can leave a required member null, and an edited file can name files outside the folder; everything the runner
    // and the exporters rely on that the manifest alone can tell is checked here, once. Whether the trainables are what
    // the method plans is checked where the method is known (AdapterMethods.PlanOf).
    string? Problem()
    {
        if (BaseModel is null || Method is null || Targets is null || TargetSpec is null || Trainables is null || DataInputs is null
            || LabelInputs is null || Task is null || Tokenizer is null || Counts is null)
            return "lacks a required entry";
        if (Files != null && Files.Any(f => !IsArtifactFileName(f.Key) || string.IsNullOrEmpty(f.Value)))
            return "lists a file that is not a plain file name inside the artifact folder (or one subfolder of it, as ort/), or has no hash";
        if (HeadOnlyTrainingModel != null && !IsPlainFileName(HeadOnlyTrainingModel))
            return $"names the head-only training graph '{HeadOnlyTrainingModel}'; it must be a plain file name inside the artifact folder";
        if (!IsPlainFileName(BaseModel.FileName) || !IsPlainFileName(Tokenizer.VocabFile))
            return $"names files '{BaseModel.FileName}' and '{Tokenizer.VocabFile}'; both must be plain file names inside the artifact folder";
        if (BaseModel.Sha256 is null || BaseModel.OutputName is null || BaseModel.HiddenSize < 1)
            return "has an incomplete baseModel entry";
        if (Task.NumLabels < 1 || Tokenizer.MaxLength < 2)
            return $"has {Task.NumLabels} labels and maximum length {Tokenizer.MaxLength}; labels must be ≥ 1 and the length ≥ 2";
        if (Tokenizer.MaxPositions is int positions && Tokenizer.MaxLength > positions)
            return $"has maximum length {Tokenizer.MaxLength} beyond the model's {positions} positions";
        if (DataInputs.Any(string.IsNullOrEmpty) || LabelInputs.Any(string.IsNullOrEmpty))
            return "has an empty input name";
        if (Targets.Any(t => t is null || string.IsNullOrEmpty(t.Path) || string.IsNullOrEmpty(t.NodeName) || string.IsNullOrEmpty(t.WeightName)
                || string.IsNullOrEmpty(t.InputName) || string.IsNullOrEmpty(t.OutputName) || t.InFeatures < 1 || t.OutFeatures < 1))
            return "has an incomplete target (each needs path, nodeName, weightName, inputName, outputName and positive in/out features)";
        foreach (var t in Trainables)
        {
            if (t is null || string.IsNullOrEmpty(t.Name) || string.IsNullOrEmpty(t.Group) || t.Shape is null || t.Shape.Any(d => d < 0))
                return $"has an incomplete trainable '{t?.Name}' (each needs a name, a group and a non-negative shape)";
            try { _ = t.ElementCount; }
            catch (OverflowException) { return $"gives trainable '{t.Name}' a shape too large to hold"; }
        }
        return null;
    }

    // A file of the folder, or of one subfolder (ONNX Runtime's own set lives in ort/, DESIGN.md §3.7), named with '/'.
    static bool IsArtifactFileName(string name) =>
        IsPlainFileName(name) || name.Split('/') is [var folder, var file] && IsPlainFileName(folder) && IsPlainFileName(file);

    static bool IsPlainFileName(string? name) =>
        !string.IsNullOrEmpty(name) && name == Path.GetFileName(name) && name is not ("." or "..") && name.IndexOfAny(['/', '\\']) < 0;
}

/// <summary>The base model of an artifact folder.</summary>
/// <param name="FileName">File name it was loaded from.</param>
/// <param name="Sha256">SHA-256 of the file, hex.</param>
/// <param name="Opset">Default-domain opset.</param>
/// <param name="OutputName">The token-state output the head reads (e.g. last_hidden_state).</param>
/// <param name="HiddenSize">Size of that output's last axis.</param>
/// <param name="AttentionMaskInput">The attention-mask input mean pooling reads (manifests written before it was
/// recorded get prepare's default).</param>
public sealed record BaseModelInfo(string FileName, string Sha256, long Opset, string OutputName, int HiddenSize,
    string AttentionMaskInput = "attention_mask");

/// <summary>The task of an artifact folder.</summary>
/// <param name="Kind">classify or embed.</param>
/// <param name="NumLabels">Classes (1 = regression).</param>
/// <param name="Pooling">Pooling of classify.</param>
/// <param name="LabelNames">Class names in id order, when the data used names.</param>
public sealed record TaskInfo(TaskKind Kind, int NumLabels, Pooling Pooling, IReadOnlyList<string>? LabelNames);

/// <summary>How text becomes the model's input ids: what a model needs to be used as it was trained (DESIGN.md §8).</summary>
/// <param name="VocabFile">Vocabulary file name inside the artifact folder (or beside a merged model).</param>
/// <param name="LowerCase">Lower-case and strip accents (uncased BERT).</param>
/// <param name="MaxLength">Maximum sequence length the model was prepared and trained with; the default of eval and infer.</param>
/// <param name="MaxPositions">Positions the model embeds (its position table's rows), the limit of any maximum length;
/// null when the graph does not show it (and in files written before it was recorded).</param>
/// <param name="VocabSha256">SHA-256 of the vocabulary file; a different file beside the model is refused. Null when
/// not recorded.</param>
public sealed record TokenizerInfo(string VocabFile, bool LowerCase, int MaxLength, int? MaxPositions = null, string? VocabSha256 = null)
{
    /// <summary>
    /// The maximum length to use: <paramref name="requested"/> when positive (checked against <see cref="MaxPositions"/>),
    /// else <see cref="MaxLength"/>.
    /// </summary>
    /// <exception cref="UsageException">The requested length is beyond the positions the model embeds.</exception>
    public int LengthFor(int requested, string option = "--max-length")
    {
        if (requested <= 0)
            return MaxLength;
        if (MaxPositions is int limit && requested > limit)
            throw new UsageException($"{option} {requested} is beyond the {limit} positions the model embeds; use at most {limit}.");
        return requested;
    }
}

/// <summary>Parameter counts of the adapter (head excluded unless stated).</summary>
/// <param name="Trainable">Elements trained (adapter + head).</param>
/// <param name="AdapterTrainable">Elements of the adapter's trainable tensors.</param>
/// <param name="AdapterStored">Stored parameters of the adapter's compact form (DESIGN.md §2).</param>
/// <param name="Head">Elements of the task head.</param>
public sealed record ParameterCounts(long Trainable, long AdapterTrainable, double AdapterStored, long Head);
