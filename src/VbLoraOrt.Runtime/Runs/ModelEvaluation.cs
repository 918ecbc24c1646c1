using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Text;

namespace VbLoraOrt.Runtime.Runs;

/// <summary><c>vblora-run eval</c>: metrics of trained values (through the eval graph) or of a merged model, on a data file.</summary>
public static class ModelEvaluation
{
    /// <summary>Evaluates <paramref name="values"/> (adapter and head tensors) through the artifacts' eval graph.</summary>
    public static EvalResult WithParameters(ArtifactFolder folder, IReadOnlyDictionary<string, float[]> values, TaskInfo task,
        string dataFile, int batchSize, int maxLength = 0, bool keepOutputs = false, DeviceOptions? device = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(values);
        var tokenizer = folder.LoadTokenizer();
        int length = folder.Manifest.Tokenizer.LengthFor(maxLength);
        var data = TrainingData.Load(dataFile, task, tokenizer, length, skipBadRows: false, task.LabelNames, skipBadRowsOption: null);
        using var sessions = DeviceSessions.Open(device);
        using var evaluator = Evaluator.ForArtifacts(sessions, folder);
        var parameters = new List<(string Name, OrtValue Value)>();
        try
        {
            foreach (var t in folder.Manifest.Trainables)
            {
                float[] v = values.TryGetValue(t.Name, out var found) ? found
                    : throw new BadInputException($"no value for trainable tensor '{t.Name}' [{string.Join(",", t.Shape)}].");
                parameters.Add((t.Name, OrtValue.CreateTensorValueFromMemory(v, t.Shape)));
            }
            return evaluator.Evaluate(data.Encoded, Batching(batchSize, length), binding =>
            {
                foreach (var (name, value) in parameters) binding.BindInput(name, value);
            }, keepOutputs, tokenizer.PaddingTokenId);
        }
        finally
        {
            foreach (var (_, value) in parameters) value.Dispose();
        }
    }

    /// <summary>
    /// Evaluates a merged model with the task, class names and tokenizer settings it records; <paramref name="maxLength"/>
    /// &gt; 0 overrides its maximum length.
    /// </summary>
    public static EvalResult WithMergedModel(string modelPath, string? vocabPath, string dataFile, int batchSize, int maxLength = 0,
        bool keepOutputs = false, DeviceOptions? device = null)
    {
        var merged = MergedModel.Open(modelPath, vocabPath);
        int length = merged.Tokenizer.LengthFor(maxLength);
        var data = TrainingData.Load(dataFile, merged.Task, merged.TextTokenizer, length, skipBadRows: false, merged.Task.LabelNames, skipBadRowsOption: null);
        using var sessions = DeviceSessions.Open(device);
        using var evaluator = Evaluator.ForModel(sessions, modelPath, merged.Task);
        return evaluator.Evaluate(data.Encoded, Batching(batchSize, length), null, keepOutputs, merged.TextTokenizer.PaddingTokenId);
    }

    static BatchOptions Batching(int batchSize, int maxLength) => new() { BatchSize = batchSize, MaxLength = maxLength };
}
