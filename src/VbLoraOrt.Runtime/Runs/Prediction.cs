using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Sessions;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>One text's prediction by a merged model.</summary>
/// <param name="Text">The input.</param>
/// <param name="Label">Predicted class name (or id), null for regression and embeddings.</param>
/// <param name="Probability">Softmax probability of the predicted class.</param>
/// <param name="Output">The raw task output row (logits, regression value or embedding).</param>
public sealed record Prediction(string Text, string? Label, double? Probability, float[] Output);

/// <summary><c>vblora-run infer</c>: runs a merged model on texts.</summary>
public static class Predictor
{
    /// <summary>
    /// Predicts each of <paramref name="texts"/> with the merged model at <paramref name="modelPath"/>, tokenized as the
    /// model records; <paramref name="maxLength"/> &gt; 0 overrides its maximum length.
    /// </summary>
    public static IReadOnlyList<Prediction> Predict(string modelPath, string? vocabPath, IReadOnlyList<string> texts, int maxLength = 0,
        DeviceOptions? device = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var merged = MergedModel.Open(modelPath, vocabPath);
        var (task, tokenizer) = (merged.Task, merged.TextTokenizer);
        maxLength = merged.Tokenizer.LengthFor(maxLength);
        // Placeholder labels let the shared batching code run; only the task output is read.
        var dataset = new TextDataset(texts.Select((t, i) => new TextExample(t, null, 0, $"text {i + 1}")).ToList(),
            task.NumLabels == 1 ? LabelKind.Regression : LabelKind.Class, null, Math.Max(1, task.NumLabels), 0, []);
        var data = EncodedDataset.Encode(dataset, tokenizer, maxLength);
        using var sessions = DeviceSessions.Open(device);
        using var evaluator = Evaluator.ForModel(sessions, modelPath, task);
        float[][] outputs = evaluator.Outputs(data, new BatchOptions { BatchSize = 16, MaxLength = maxLength }, null);
        return texts.Select((text, i) =>
        {
            float[] row = outputs[i];
            if (task.Kind == TaskKind.Embed || task.NumLabels == 1)
                return new Prediction(text, null, null, row);
            int best = TaskMetrics.ArgMax(row);
            string label = task.LabelNames is { } names && best < names.Count ? names[best] : best.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return new Prediction(text, label, TaskMetrics.Softmax(row)[best], row);
        }).ToList();
    }
}
