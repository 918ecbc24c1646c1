using System.Text.Json;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// <c>serving.json</c> of a serving folder (DESIGN.md §7.1): what the serving model is (method and options, targets,
/// task with class names), how to tokenize for it, and which of its inputs requests and adapters feed.
/// </summary>
public sealed record ServingManifest
{
    /// <summary>The manifest's file name inside a serving folder.</summary>
    public const string FileName = "serving.json";

    /// <summary>The serving model's file name inside a serving folder.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>The vocabulary's file name inside a serving folder.</summary>
    public const string VocabFileName = "vocab.txt";

    /// <summary>Version of this layout.</summary>
    public const int CurrentFormat = 1;

    /// <summary>Format version.</summary>
    public int FormatVersion { get; init; } = CurrentFormat;

    /// <summary>The method's name.</summary>
    public required string Method { get; init; }

    /// <summary>The method's options as saved by the method.</summary>
    public required JsonElement MethodOptions { get; init; }

    /// <summary>The adapted linear layers.</summary>
    public required IReadOnlyList<LinearModule> Targets { get; init; }

    /// <summary>The task, with class names when the training data named them.</summary>
    public required TaskInfo Task { get; init; }

    /// <summary>Tokenizer hints (vocabulary file inside the serving folder, lower-casing, default maximum length).</summary>
    public required TokenizerInfo Tokenizer { get; init; }

    /// <summary>The task output the model computes.</summary>
    public required string OutputName { get; init; }

    /// <summary>Inputs each request feeds (token ids, masks).</summary>
    public required IReadOnlyList<string> RequestInputs { get; init; }

    /// <summary>Inputs an adapter feeds; every adapter must feed all of them.</summary>
    public required IReadOnlyList<string> AdapterInputs { get; init; }

    /// <summary>SHA-256 of the base model the adapters were trained on.</summary>
    public required string BaseModelSha256 { get; init; }

    /// <summary>The <c>model_version</c> its adapters carry (<see cref="ServingModelVersion"/>); 0 in folders that record none (not checked).</summary>
    public int AdapterModelVersion { get; init; }

    /// <summary>How the serving model applies each target's factors (<see cref="ServingFormChoice"/>).</summary>
    public ServingFormChoice Form { get; init; }

    /// <summary>Writes the manifest atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, ArtifactManifest.JsonOptions));

    /// <summary>Reads and checks the manifest of serving folder <paramref name="directory"/>.</summary>
    /// <exception cref="BadInputException">Missing, not JSON, of another version or incomplete.</exception>
    public static ServingManifest Load(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new BadInputException($"{path}: not found. Point --model at a folder written by `vblora-run export --serving`.");
        ServingManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ServingManifest>(File.ReadAllText(path), ArtifactManifest.JsonOptions);
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{path}: not valid JSON ({e.Message}). Export the serving folder again.", e);
        }
        if (manifest is null || manifest.Method is null || manifest.Targets is null || manifest.Task is null || manifest.Tokenizer is null
            || manifest.OutputName is null || manifest.RequestInputs is null || manifest.AdapterInputs is null || manifest.BaseModelSha256 is null)
            throw new BadInputException($"{path}: lacks a required entry; export the serving folder again.");
        if (manifest.BaseModelSha256.Length != 64 || !manifest.BaseModelSha256.All(char.IsAsciiHexDigit))
            throw new BadInputException($"{path}: baseModelSha256 '{manifest.BaseModelSha256}' is not a SHA-256; export the serving folder again.");
        if (manifest.FormatVersion != CurrentFormat)
            throw new BadInputException($"{path}: format {manifest.FormatVersion} is not supported (expected {CurrentFormat}); export the serving folder again with this version.");
        return manifest;
    }
}
