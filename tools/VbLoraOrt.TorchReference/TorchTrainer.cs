using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using TorchSharp.Modules;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts.Optimizer;
using VbLoraOrt.Runtime.Training;
using static TorchSharp.torch;

namespace VbLoraOrt.TorchReference;

/// <summary>
/// The LibTorch side: the artifacts' trainables as torch parameters at their initial values, the frozen encoder, the
/// batch as tensors, and <c>torch.optim.AdamW</c> with one parameter group per artifact group at the same learning rate,
/// weight decay, betas and ε as our optimizer graph. A step is forward, backward, AdamW and the loss read to the host,
/// with the gradients zeroed first.
/// </summary>
sealed class TorchTrainer
{
    readonly TorchMiniLm _model;
    readonly Tensor _inputIds, _tokenTypeIds, _attentionMask, _labels;
    readonly AdamW _optimizer;

    TorchTrainer(TorchMiniLm model, IReadOnlyDictionary<string, Parameter> parameters, Tensor[] batch, AdamW optimizer)
    {
        _model = model;
        Parameters = parameters;
        (_inputIds, _tokenTypeIds, _attentionMask, _labels) = (batch[0], batch[1], batch[2], batch[3]);
        _optimizer = optimizer;
    }

    /// <summary>The trainables by their artifact names.</summary>
    public IReadOnlyDictionary<string, Parameter> Parameters { get; }

    /// <summary>Builds the torch side of <paramref name="setup"/> over <paramref name="weights"/>.</summary>
    public static TorchTrainer Create(MiniLmWeights weights, ReferenceSetup setup, AttentionKind attention)
    {
        var manifest = setup.Folder.Manifest;
        if (setup.Folder.Method is not VbLoraMethod method)
            throw new InvalidOperationException($"{setup.Folder.Directory}: the reference covers VB-LoRA only, not '{manifest.Method}'.");
        if (manifest.Task.Kind != TaskKind.Classify || manifest.Task.NumLabels < 2)
            throw new InvalidOperationException($"{setup.Folder.Directory}: the reference covers classification with cross-entropy only.");
        // Copies: AdamW updates the parameters in place, and the checkpoint's arrays also seed our side.
        var parameters = manifest.Trainables.ToDictionary(t => t.Name,
            t => new Parameter(tensor((float[])setup.InitialValue(t.Name).Clone(), t.Shape), requires_grad: true), StringComparer.Ordinal);
        var adapter = new TorchVbLora(parameters[VbLoraNames.VectorBank], method.Options.Rank, method.Options.TopK,
            parameters.ToDictionary(p => p.Key, p => (Tensor)p.Value, StringComparer.Ordinal));
        var targets = manifest.Targets.Select(t => t.Path).ToHashSet(StringComparer.Ordinal);
        var model = new TorchMiniLm(weights, adapter, targets, parameters[ArtifactNames.HeadWeight], parameters[ArtifactNames.HeadBias],
            manifest.Task.Pooling, attention);

        var batch = new[] { "input_ids", "token_type_ids", manifest.BaseModel.AttentionMaskInput, ArtifactNames.Labels }
            .Select(name => Int64Tensor(setup.Batch, name)).ToArray();

        var adam = new AdamWOptions();
        var groups = manifest.Trainables.GroupBy(t => t.Group).Select(g =>
        {
            var settings = setup.Settings[g.Key];
            return new AdamW.ParamGroup(g.Select(t => parameters[t.Name]), settings.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon,
                settings.WeightDecay, amsgrad: false, maximize: false);
        }).ToList();
        return new TorchTrainer(model, parameters, batch, optim.AdamW(groups));
    }

    /// <summary>Loss and every trainable's gradient at the current values, by autograd (no update).</summary>
    public (float Loss, Dictionary<string, float[]> Gradients) Gradients()
    {
        using var scope = NewDisposeScope();
        _optimizer.zero_grad();
        var loss = _model.Loss(_inputIds, _tokenTypeIds, _attentionMask, _labels);
        loss.backward();
        var gradients = Parameters.ToDictionary(p => p.Key,
            p => p.Value.grad?.data<float>().ToArray() ?? throw new InvalidOperationException($"autograd gave '{p.Key}' no gradient."));
        return (loss.item<float>(), gradients);
    }

    /// <summary>One training step; returns the loss.</summary>
    /// <remarks>Libtorch runs eagerly on the CPU, so each part has finished when its call returns: the parts are timed
    /// into <see cref="LastParts"/>.</remarks>
    public float Step()
    {
        using var scope = NewDisposeScope();
        long start = Stopwatch.GetTimestamp();
        _optimizer.zero_grad();
        var loss = _model.Loss(_inputIds, _tokenTypeIds, _attentionMask, _labels);
        long forward = Stopwatch.GetTimestamp();
        loss.backward();
        long backward = Stopwatch.GetTimestamp();
        _optimizer.step();
        float value = loss.item<float>();
        long end = Stopwatch.GetTimestamp();
        LastParts = new StepParts(Seconds(start, forward), Seconds(forward, backward), Seconds(backward, end));
        return value;
    }

    /// <summary>Forward (with zeroing the gradients), backward and AdamW of the last <see cref="Step"/>, in seconds.</summary>
    public StepParts LastParts { get; private set; } = new(0, 0, 0);

    static double Seconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalSeconds;

    // The batch's int64 input `name` as a tensor (read through the OrtValue the trainer would bind).
    static Tensor Int64Tensor(IReadOnlyList<BatchTensor> batch, string name)
    {
        var input = batch.FirstOrDefault(b => b.Name == name)
            ?? throw new InvalidOperationException($"the batch has no input '{name}' ({string.Join(", ", batch.Select(b => b.Name))}).");
        using var value = input.ToOrtValue();
        return tensor(value.GetTensorDataAsSpan<long>().ToArray(), input.Shape);
    }
}

/// <summary>Where a LibTorch step's time went, in seconds.</summary>
sealed record StepParts(double Forward, double Backward, double Optimizer);
