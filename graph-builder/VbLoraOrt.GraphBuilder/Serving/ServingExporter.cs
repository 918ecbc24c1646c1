using Onnx;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// Writes a serving folder (DESIGN.md §7.1) from an artifact folder: <c>model.onnx</c> (the serving model of
/// <see cref="ServingModelBuilder"/>, its tensors in one data file beside it), <c>vocab.txt</c> and
/// <c>serving.json</c>. Adapters for it are written by <see cref="ServingAdapter"/>.
/// </summary>
public static class ServingExporter
{
    /// <summary>Writes the serving folder of <paramref name="manifest"/>'s artifacts into <paramref name="outDirectory"/>.</summary>
    /// <param name="artifactsDir">The folder written by <c>vblora-graph prepare</c>.</param>
    /// <param name="manifest">Its manifest, with the run's class names in its task.</param>
    /// <param name="outDirectory">A new or empty folder (created when missing).</param>
    /// <param name="form">How the serving model applies each target's factors (recorded in <c>serving.json</c>).</param>
    /// <exception cref="BadInputException">The folder already holds files; the base model is missing; the method has no serving form.</exception>
    public static ServingManifest Export(string artifactsDir, ArtifactManifest manifest, string outDirectory,
        ServingFormChoice form = ServingFormChoice.Switch)
    {
        ArgumentNullException.ThrowIfNull(artifactsDir);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(outDirectory);
        if (Directory.Exists(outDirectory) && Directory.EnumerateFileSystemEntries(outDirectory).Any())
            throw new BadInputException($"{outDirectory}: the folder is not empty; export a serving folder into a new or empty folder.");
        string basePath = Path.Combine(artifactsDir, manifest.BaseModel.FileName);
        if (!File.Exists(basePath))
            throw new BadInputException($"{basePath}: base model not found; point at a folder written by `vblora-graph prepare`.");
        var method = AdapterMethods.Create(manifest.Method, manifest.MethodOptions).WithArtifactFiles(artifactsDir);
        var serving = ServingModelBuilder.Build(OnnxModel.Load(basePath), method, manifest.Targets, manifest.Task, manifest.BaseModel, form);

        Directory.CreateDirectory(outDirectory);
        serving.Model.Proto.MetadataProps.Add(new StringStringEntryProto { Key = "vblora_ort.serving_method", Value = method.Name });
        serving.Model.Save(Path.Combine(outDirectory, ServingManifest.ModelFileName), new ExternalDataOptions
        {
            FileName = "model.data",
            ShareExistingFiles = false,
        });
        string vocab = Path.Combine(artifactsDir, manifest.Tokenizer.VocabFile);
        if (File.Exists(vocab))
            AtomicFile.WriteAllBytes(Path.Combine(outDirectory, ServingManifest.VocabFileName), File.ReadAllBytes(vocab));
        var result = new ServingManifest
        {
            Method = method.Name,
            MethodOptions = method.SaveOptions(),
            Targets = manifest.Targets,
            Task = manifest.Task,
            Tokenizer = manifest.Tokenizer with { VocabFile = ServingManifest.VocabFileName },
            OutputName = serving.OutputName,
            RequestInputs = serving.RequestInputs,
            AdapterInputs = serving.AdapterInputs,
            BaseModelSha256 = manifest.BaseModel.Sha256,
            AdapterModelVersion = ServingModelVersion.Of(method),
            Form = form,
        };
        result.Save(Path.Combine(outDirectory, ServingManifest.FileName));
        return result;
    }
}
