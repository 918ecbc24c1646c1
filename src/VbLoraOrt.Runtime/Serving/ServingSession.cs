using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Text;

namespace VbLoraOrt.Runtime.Serving;

/// <summary>
/// A serving folder's model in one ONNX Runtime session with any number of adapters loaded once and selected per run
/// (DESIGN.md §7.1). An adapter is checked before ONNX Runtime sees it — the file read and validated, every tensor
/// matched by name, dtype and shape against the model's inputs, every adapter input fed — so a bad adapter is refused
/// naming the tensor and the session goes on serving the others.
/// </summary>
public sealed class ServingSession : IDisposable
{
    readonly DeviceSessions _devices;
    readonly InferenceSession _session;
    readonly BertTextTokenizer _tokenizer;
    readonly AdapterInputContract _contract;
    readonly Dictionary<string, LoadedAdapter> _adapters = new(StringComparer.Ordinal);
    readonly RunOptions _noAdapter = QuietRunOptions();

    ServingSession(string directory, ServingManifest manifest, DeviceSessions devices, InferenceSession session, BertTextTokenizer tokenizer, int maxLength)
    {
        Directory = directory;
        Manifest = manifest;
        _devices = devices;
        _session = session;
        _tokenizer = tokenizer;
        MaxLength = maxLength;
        // ONNX Runtime lists inputs with an initializer default apart, as overridable initializers.
        _contract = new AdapterInputContract(session.InputMetadata.Concat(session.OverridableInitializerMetadata)
            .Where(i => i.Value.IsTensor).Select(i => new AdapterInput(
                i.Key, (int)i.Value.ElementDataType, i.Value.Dimensions.Select(d => d < 0 ? (long?)null : d).ToArray(),
                manifest.AdapterInputs.Contains(i.Key))),
            manifest.RequestInputs);
    }

    /// <summary>The serving folder.</summary>
    public string Directory { get; }

    /// <summary>Its manifest.</summary>
    public ServingManifest Manifest { get; }

    /// <summary>Tokens per text at most (longer texts are cut).</summary>
    public int MaxLength { get; }

    /// <summary>The loaded adapters by name.</summary>
    public IReadOnlyDictionary<string, LoadedAdapter> Adapters => _adapters;

    /// <summary>Opens the serving folder at <paramref name="directory"/>.</summary>
    /// <exception cref="BadInputException">The folder, its model or vocabulary is missing or damaged.</exception>
    public static ServingSession Open(string directory, DeviceOptions? device = null, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        // ONNX Runtime's warnings (to stderr) would interleave with a server's JSONL; its errors still surface as exceptions.
        OrtEnv.Instance().EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
        var manifest = ServingManifest.Load(directory);
        int length = maxLength ?? manifest.Tokenizer.MaxLength;
        if (length < 2)
            throw new UsageException($"--max-length {length}: a text needs at least 2 tokens ([CLS] and [SEP]).");
        var tokenizer = BertTextTokenizer.Load(Path.Combine(directory, manifest.Tokenizer.VocabFile), manifest.Tokenizer.LowerCase);
        var devices = DeviceSessions.Open(device);
        try
        {
            var session = devices.CreateSession(Path.Combine(directory, ServingManifest.ModelFileName));
            return new ServingSession(directory, manifest, devices, session, tokenizer, length);
        }
        catch
        {
            devices.Dispose();
            throw;
        }
    }

    /// <summary>Run options that log only ONNX Runtime's errors (a run's warnings would interleave with JSONL output).</summary>
    internal static RunOptions QuietRunOptions() => new() { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };

    /// <summary>
    /// Loads the adapter file at <paramref name="path"/> under <paramref name="name"/>, after checking it fits the model.
    /// </summary>
    /// <exception cref="OnnxAdapterException">The file is malformed or does not fit (the message names the tensor); nothing is loaded.</exception>
    /// <exception cref="BadInputException">The name is taken or the file is missing.</exception>
    public LoadedAdapter Load(string name, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(path);
        if (_adapters.ContainsKey(name))
            throw new BadInputException($"adapter name '{name}' is given twice; each adapter needs its own name.");
        var adapter = OnnxAdapterFile.Read(path);
        var mismatches = _contract.FindMismatches(adapter);
        var foreign = adapter.Parameters.Where(p => !Manifest.AdapterInputs.Contains(p.Name)).Select(p => $"'{p.Name}'").ToList();
        if (mismatches.Count > 0)
            throw new OnnxAdapterException(path, foreign.Count > 0
                ? $"{foreign.Count} of its {adapter.Parameters.Count} tensors are not inputs of the {Manifest.Method} serving model " +
                  $"({string.Join(", ", foreign.Take(3))}{(foreign.Count > 3 ? ", …" : "")}); it was exported for another method or model."
                : $"does not fit the {Manifest.Method} serving model: {mismatches[0]}{(mismatches.Count > 1 ? $" (and {mismatches.Count - 1} more tensors)" : "")}. " +
                  "Was it exported for another model or method?");
        // 0 on either side: written before versions were recorded, not checked
        if (Manifest.AdapterModelVersion != 0 && adapter.ModelVersion != 0 && adapter.ModelVersion != Manifest.AdapterModelVersion)
            throw new OnnxAdapterException(path,
                $"its model_version {adapter.ModelVersion} is not this {Manifest.Method} serving model's {Manifest.AdapterModelVersion}: its tensors fit, " +
                "but it was exported from artifacts with other method options (for VB-LoRA on a shared bank: another bank). " +
                "Export it with `vblora-run export --onnx-adapter` from a run of the artifacts this serving model came from.");
        if (adapter.AdapterVersion != 0 && adapter.AdapterVersion != BaseModelStamp.Of(Manifest.BaseModelSha256))
            throw new OnnxAdapterException(path,
                $"it was exported for base model sha256 {BaseModelStamp.Describe(adapter.AdapterVersion)} (its adapter_version {adapter.AdapterVersion}), " +
                $"but this serving model's base model is sha256 {Manifest.BaseModelSha256}. Export it from a run on this base model.");
        var missing = Manifest.AdapterInputs.Where(i => adapter.Find(i) == null).ToList();
        if (missing.Count > 0)
            throw new OnnxAdapterException(path,
                $"does not feed input '{missing[0]}'{(missing.Count > 1 ? $" (and {missing.Count - 1} more)" : "")} of the {Manifest.Method} serving model; " +
                "it was exported for another model or method. Export it with `vblora-run export --onnx-adapter` from a run of these artifacts.");
        var loaded = new LoadedAdapter(name, path, new FileInfo(path).Length);
        _adapters.Add(name, loaded);
        return loaded;
    }

    /// <summary>Releases the adapter named <paramref name="name"/>; false when none is loaded under it.</summary>
    public bool Unload(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_adapters.Remove(name, out var adapter))
            return false;
        adapter.Dispose();
        return true;
    }

    /// <summary>
    /// The task output row of each of <paramref name="texts"/> with adapter <paramref name="adapter"/> (null: none, the
    /// zero update), in one batch.
    /// </summary>
    /// <exception cref="BadInputException">No adapter of that name is loaded.</exception>
    public float[][] Run(string? adapter, IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        RunOptions options = adapter == null ? _noAdapter
            : _adapters.TryGetValue(adapter, out var loaded) ? loaded.Options
            : throw new BadInputException($"no adapter named '{adapter}' is loaded (loaded: {string.Join(", ", _adapters.Keys.Order(StringComparer.Ordinal).Take(10))}).");
        if (texts.Count == 0)
            return [];
        var rows = texts.Select(t => _tokenizer.Encode(t, null, MaxLength)).ToList();
        var batch = TokenBatch.Pad(rows, rows.Max(r => r.Length), _tokenizer.PaddingTokenId);
        var inputs = Manifest.RequestInputs.Select(name => OrtValue.CreateTensorValueFromMemory(name switch
        {
            "input_ids" => batch.InputIds,
            "attention_mask" => batch.AttentionMask,
            "token_type_ids" => batch.TokenTypeIds,
            _ => throw new BadInputException($"the serving model's input '{name}' is not one the server can fill (input_ids, attention_mask, token_type_ids)."),
        }, batch.Shape)).ToList();
        try
        {
            using var results = _session.Run(options, Manifest.RequestInputs, inputs, [Manifest.OutputName]);
            float[] flat = results[0].GetTensorDataAsSpan<float>().ToArray();
            int width = flat.Length / texts.Count;
            return Enumerable.Range(0, texts.Count).Select(i => flat.AsSpan(i * width, width).ToArray()).ToArray();
        }
        catch (OnnxRuntimeException e)
        {
            // An adapter whose values are out of range (say a top-k index past the bank) fails only its own runs.
            throw new BadInputException($"adapter '{adapter ?? "(none)"}': ONNX Runtime failed the run ({e.Message.Trim()}); the adapter's values are damaged.", e);
        }
        finally
        {
            inputs.ForEach(v => v.Dispose());
        }
    }

    /// <summary>Releases the adapters, then the session.</summary>
    public void Dispose()
    {
        foreach (var adapter in _adapters.Values)
            adapter.Dispose();
        _adapters.Clear();
        _noAdapter.Dispose();
        _session.Dispose();
        _devices.Dispose();
    }
}
