using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>
/// Runs a forward model (the artifacts' eval graph with bound parameters, or a merged model) over a dataset and
/// computes the task's metrics on the host from its task output, the same way for every kind of model.
/// </summary>
public sealed class Evaluator : IDisposable
{
    readonly InferenceSession _session;
    readonly TaskInfo _task;
    readonly IReadOnlyList<string> _dataInputs;
    readonly string _output;
    readonly bool _hasLabelInput;
    readonly RunOptions _runOptions = new();
    readonly string _model;
    int _batch; // batches run by the current call, named when ONNX Runtime fails

    Evaluator(InferenceSession session, string model, TaskInfo task, IReadOnlyList<string> dataInputs)
    {
        _session = session;
        _model = model;
        _task = task;
        _dataInputs = dataInputs;
        _output = task.Kind == TaskKind.Embed ? ArtifactNames.Embeddings : ArtifactNames.Logits;
        // The eval graph's loss reads the labels; feeding the real ones keeps its shapes consistent.
        _hasLabelInput = session.InputMetadata.ContainsKey(ArtifactNames.Labels);
        if (!session.OutputMetadata.ContainsKey(_output))
            throw new VbLoraOrt.Onnx.BadInputException($"the model has no '{_output}' output; it was not built for a {task.Kind} task.");
    }

    /// <summary>The eval graph of <paramref name="folder"/>; parameters are bound per call.</summary>
    public static Evaluator ForArtifacts(DeviceSessions device, ArtifactFolder folder)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(folder);
        return new Evaluator(device.CreateSession(folder.EvalModel), folder.EvalModel, folder.Manifest.Task, folder.Manifest.DataInputs);
    }

    /// <summary>A self-contained model (e.g. merged) whose inputs are only the data inputs.</summary>
    public static Evaluator ForModel(DeviceSessions device, string modelPath, TaskInfo task)
    {
        ArgumentNullException.ThrowIfNull(device);
        var session = device.CreateSession(modelPath);
        try
        {
            return new Evaluator(session, modelPath, task, session.InputMetadata.Keys.ToList());
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Evaluates <paramref name="data"/>; <paramref name="bindParameters"/> binds trainables (null for merged models).</summary>
    public EvalResult Evaluate(EncodedDataset data, BatchOptions batching, Action<OrtIoBinding>? bindParameters, bool keepOutputs = false, int padId = 0)
    {
        _batch = 0;
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(batching);
        var outputs = new float[data.Count][];
        double lossSum = 0;
        int correct = 0, count = 0;
        if (_task.Kind == TaskKind.Embed)
        {
            foreach (var batch in data.PairBatches(batching, epoch: 0))
            {
                float[][] rows = Run(BatchFeeds.ForPairs(batch, _dataInputs, padId), bindParameters);
                int n = batch.Examples.Length;
                var (loss, hits) = TaskMetrics.Contrastive(rows, n, 20f);
                lossSum += loss * n;
                correct += hits;
                count += n;
                for (int i = 0; i < n; i++) outputs[batch.Examples[i]] = rows[i];
            }
        }
        else
        {
            foreach (var batch in data.TextBatches(batching, epoch: 0))
            {
                float[][] rows = Run(BatchFeeds.ForText(batch, _dataInputs, withLabels: _hasLabelInput), bindParameters);
                for (int i = 0; i < rows.Length; i++)
                {
                    if (batch.ClassLabels != null)
                    {
                        lossSum += TaskMetrics.CrossEntropy(rows[i], batch.ClassLabels[i]);
                        correct += TaskMetrics.ArgMax(rows[i]) == batch.ClassLabels[i] ? 1 : 0;
                    }
                    else
                        lossSum += Math.Pow(rows[i][0] - batch.Targets![i], 2);
                    outputs[batch.Examples[i]] = rows[i];
                }
                count += rows.Length;
            }
        }
        double? accuracy = _task.Kind == TaskKind.Classify && _task.NumLabels == 1 ? null : (double)correct / Math.Max(1, count);
        return new EvalResult(count, lossSum / Math.Max(1, count), accuracy, keepOutputs ? outputs : null);
    }

    /// <summary>The task output row of every example of a text dataset, in file order (no metrics; labels unused).</summary>
    public float[][] Outputs(EncodedDataset data, BatchOptions batching, Action<OrtIoBinding>? bindParameters)
    {
        _batch = 0;
        ArgumentNullException.ThrowIfNull(data);
        var outputs = new float[data.Count][];
        foreach (var batch in data.TextBatches(batching, epoch: 0))
        {
            float[][] rows = Run(BatchFeeds.ForText(batch, _dataInputs, withLabels: false), bindParameters);
            for (int i = 0; i < rows.Length; i++) outputs[batch.Examples[i]] = rows[i];
        }
        return outputs;
    }

    float[][] Run(IReadOnlyList<BatchTensor> feeds, Action<OrtIoBinding>? bindParameters)
    {
        using var binding = _session.CreateIoBinding();
        var owned = new List<OrtValue>();
        try
        {
            foreach (var feed in feeds)
            {
                var value = feed.ToOrtValue();
                owned.Add(value);
                binding.BindInput(feed.Name, value);
            }
            bindParameters?.Invoke(binding);
            binding.BindOutputToDevice(_output, OrtMemoryInfo.DefaultInstance);
            try
            {
                _session.RunWithBinding(_runOptions, binding);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelRunException(_model, $"evaluation batch {_batch}", e);
            }
            _batch++;
            using var results = binding.GetOutputValues();
            var result = results.First();
            long[] shape = result.GetTensorTypeAndShape().Shape;
            var flat = result.GetTensorDataAsSpan<float>();
            int rows = (int)shape[0], width = (int)(flat.Length / Math.Max(1, rows));
            var split = new float[rows][];
            for (int r = 0; r < rows; r++) split[r] = flat.Slice(r * width, width).ToArray();
            return split;
        }
        finally
        {
            foreach (var value in owned) value.Dispose();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}
