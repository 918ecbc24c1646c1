using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Interchange;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Merge;

/// <summary>How a PEFT directory's head is attached when merging (the directory does not say).</summary>
/// <param name="Pooling">How the head reads the token states (the adapter's trainer decided; <c>prepare</c>'s default is CLS).</param>
/// <param name="HiddenStatesOutput">The model output holding the token states.</param>
/// <param name="AttentionMaskInput">The model input holding the attention mask (mean pooling).</param>
public sealed record PeftHeadOptions(Pooling Pooling = Pooling.Cls, string HiddenStatesOutput = "last_hidden_state", string AttentionMaskInput = "attention_mask");

/// <summary>
/// Merges a PEFT adapter directory into an ONNX export (DESIGN.md §7, PEFT interchange): the factors PEFT's formula gives
/// are folded into the weights of the modules <c>target_modules</c> selects, and a <c>modules_to_save</c> classifier, when
/// the directory has one, is appended as the task head. Everything is read and checked before anything is written.
/// </summary>
public static class PeftMerge
{
    /// <summary>Reads <paramref name="peftDirectory"/> against <paramref name="modelPath"/> and writes the merged model.</summary>
    /// <returns>The adapter as read.</returns>
    /// <exception cref="BadInputException">The model or the directory is missing or does not fit (the message names the file, field, key or module).</exception>
    /// <exception cref="UsageException">A file is at <paramref name="outPath"/> and <paramref name="overwrite"/> is false, or
    /// <paramref name="outPath"/> is one of the inputs.</exception>
    public static PeftAdapter Run(string modelPath, string peftDirectory, string outPath, PeftHeadOptions headOptions, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(headOptions);
        if (!File.Exists(modelPath))
            throw new BadInputException($"{modelPath}: model not found.");
        OutputPaths.RequireWritableFile("--out", outPath, overwrite, [modelPath, .. Directory.Exists(peftDirectory) ? Directory.GetFiles(peftDirectory) : []]);
        var model = OnnxModel.Load(modelPath);
        var adapter = PeftImporter.Read(peftDirectory, LinearModuleFinder.Find(model), modelPath);

        TaskInfo? task = null;
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        int hidden = 0;
        if (adapter.Head is { } head)
        {
            hidden = ArtifactBuilder.HiddenSize(model, headOptions.HiddenStatesOutput);
            if (hidden != head.Hidden)
                throw new BadInputException(
                    $"{Path.Combine(peftDirectory, "adapter_model.safetensors")}: head '{head.WeightKey}' reads {head.Hidden} features, but '{headOptions.HiddenStatesOutput}' of {modelPath} has {hidden}.");
            task = new TaskInfo(TaskKind.Classify, head.Labels, headOptions.Pooling, null);
            values[ArtifactNames.HeadWeight] = head.WeightHiddenLabels();
            values[ArtifactNames.HeadBias] = head.Bias;
        }
        var info = new BaseModelInfo(Path.GetFileName(modelPath), Hashing.Sha256File(modelPath), model.Opset, headOptions.HiddenStatesOutput, hidden,
            headOptions.AttentionMaskInput);
        string identity = "peft:" + Hashing.Sha256File(Path.Combine(peftDirectory, "adapter_model.safetensors"));
        MergedModelExporter.ExportFactors(model, adapter.Adapter.Factors, adapter.Adapter.Method.Name, task, info, values, identity, outPath, overwrite);
        return adapter;
    }
}
