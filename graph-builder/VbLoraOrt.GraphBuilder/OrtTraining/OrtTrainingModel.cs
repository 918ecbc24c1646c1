using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using static VbLoraOrt.GraphBuilder.OrtTraining.OrtTrainingNames;

namespace VbLoraOrt.GraphBuilder.OrtTraining;

/// <summary>
/// Rewrites the project's training graph (DESIGN.md §3) into ONNX Runtime's training-model form (§3.7): the same
/// forward and standard-op backward, but instead of returning each gradient <c>&lt;p&gt;_grad</c> as an output, a
/// <c>com.microsoft</c> <c>InPlaceAccumulatorV2</c> adds (or, when <see cref="OrtTrainingNames.LazyResetGrad"/> is true,
/// writes) it into the input buffer <c>&lt;p&gt;_grad.accumulation.buffer</c>. Outputs: <c>loss</c>, then the
/// accumulators' bool flags <c>&lt;p&gt;_grad.accumulation.out</c>. Inputs: data, labels, trainables, buffers, the flag.
/// </summary>
public static class OrtTrainingModel
{
    const int Bool = (int)TensorProto.Types.DataType.Bool;

    /// <summary>The ONNX Runtime form of <paramref name="training"/> (a copy; the argument is not changed).</summary>
    /// <exception cref="ArgumentException">The graph does not have the project's training outputs for <paramref name="trainables"/>.</exception>
    public static OnnxModel From(OnnxModel training, IReadOnlyList<TrainableTensor> trainables)
    {
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(trainables);
        var model = training.Clone();
        var graph = model.Graph;
        CheckOutputs(graph, trainables);
        graph.Output.Clear();
        graph.Output.Add(ValueInfos.Float(ArtifactNames.Loss));
        foreach (var t in trainables)
            graph.Input.Add(ValueInfos.Float(AccumulationBuffer(t.Name), t.Shape.Cast<object>().ToArray()));
        graph.Input.Add(ValueInfos.Tensor(LazyResetGrad, TensorProto.Types.DataType.Bool, 1));
        foreach (var t in trainables)
        {
            var accumulate = new NodeProto
            {
                OpType = "InPlaceAccumulatorV2",
                Domain = MicrosoftDomain,
                Name = $"accumulate/{t.Name}",
                Input = { AccumulationBuffer(t.Name), Grad(t.Name), LazyResetGrad },
                Output = { AccumulationOut(t.Name) },
            };
            graph.Node.Add(accumulate);
            graph.Output.Add(ValueInfos.Tensor(AccumulationOut(t.Name), TensorProto.Types.DataType.Bool, 1));
        }
        OrtModels.ImportMicrosoftDomain(model.Proto);
        return model;
    }

    // The project's graph names each gradient output <p>_grad, ONNX Runtime's name for it too (ArtifactNames.Grad).
    static void CheckOutputs(GraphProto graph, IReadOnlyList<TrainableTensor> trainables)
    {
        var outputs = graph.Output.Select(o => o.Name).ToList();
        string[] expected = [ArtifactNames.Loss, .. trainables.Select(t => ArtifactNames.Grad(t.Name))];
        if (!outputs.SequenceEqual(expected, StringComparer.Ordinal))
            throw new ArgumentException(
                $"the training graph's outputs [{string.Join(", ", outputs.Take(6))}…] are not loss and the gradients of the trainables.",
                nameof(graph));
        if (trainables.Any(t => ArtifactNames.Grad(t.Name) != Grad(t.Name)))
            throw new ArgumentException("gradient names differ from ONNX Runtime's <param>_grad.", nameof(trainables));
    }
}
