using Onnx;
using VbLoraOrt.Adapters;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Differentiation.Pruning;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// Builds the model that serves every adapter of one base model, method and task (DESIGN.md §7.1): the base model,
/// the method's composition reading the adapter's tensors as graph inputs (<see cref="ServingForm"/>), and the task
/// head whose weight and bias are graph inputs too, so each adapter carries its own head. Every adapter input has an
/// initializer default — the zero update and a zero head — so the model also runs without an adapter. The composition
/// reads only adapter inputs: it runs once per run, whatever the batch.
/// </summary>
public static class ServingModelBuilder
{
    /// <summary>
    /// The serving model of <paramref name="method"/> on <paramref name="targets"/> of <paramref name="baseModel"/>, each
    /// target's factors applied in the form <paramref name="form"/> picks (<see cref="ServingWiring"/>).
    /// </summary>
    /// <exception cref="AdapterException">A target does not match the model.</exception>
    /// <exception cref="BadInputException">The method has no serving form; the head's mask input is missing.</exception>
    public static ServingModel Build(OnnxModel baseModel, IAdapterMethod method, IReadOnlyList<LinearModule> targets, TaskInfo task, BaseModelInfo info,
        ServingFormChoice form = ServingFormChoice.Switch)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(info);
        var composition = ServingForm.For(method);
        var initializers = baseModel.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var requestInputs = baseModel.Graph.Input.Select(i => i.Name).Where(n => !initializers.Contains(n)).ToList();
        var plan = method.Plan(targets);
        var defaults = composition.ZeroTensors(plan);

        var injected = AdapterInjector.InjectWithComposition(baseModel, method, targets, defaults.Select(t => t.Name).ToList(),
            graph => defaults.ToList().ForEach(t => BindInput(graph, t)), composition.EmitFactors, ServingWiring.For(form));
        OnnxModel model = injected.Model;
        var options = new TaskOptions { Kind = task.Kind, NumLabels = task.NumLabels, Pooling = task.Pooling };
        if ((task.Kind == TaskKind.Embed || task.Pooling == Pooling.Mean) && !requestInputs.Contains(info.AttentionMaskInput))
            throw new BadInputException(
                $"{baseModel.SourcePath ?? "the base model"}: the {task.Kind} head pools over '{info.AttentionMaskInput}', but the model has no such input.");
        var head = TaskHead.Append(model, options, info.OutputName, info.AttentionMaskInput, info.HiddenSize, withLoss: false, headAsInputs: true, seed: 0);
        foreach (var t in head.Trainables)
            BindInput(model.Graph, OnnxAdapterParameter.Float(t.Name, t.Shape, new float[t.ElementCount]), addInput: false);

        var output = model.Graph.Output.Single(o => o.Name == head.OutputName);
        model.Graph.Output.Clear();
        model.Graph.Output.Add(output);
        UnusedNodes.Remove(model.Graph);
        return new ServingModel(model, plan, head.OutputName, requestInputs,
            [.. defaults.Select(t => t.Name), .. head.Trainables.Select(t => t.Name)], head.Trainables);
    }

    // The tensor as an initializer (the input's default) and, unless the head already declared it, as a graph input.
    static void BindInput(GraphProto graph, OnnxAdapterParameter tensor, bool addInput = true)
    {
        var proto = new TensorProto { Name = tensor.Name, DataType = tensor.DataType, RawData = Google.Protobuf.ByteString.CopyFrom(tensor.Data.Span) };
        proto.Dims.AddRange(tensor.Dims);
        graph.Initializer.Add(proto);
        if (addInput)
            graph.Input.Add(ValueInfos.Tensor(tensor.Name, (TensorProto.Types.DataType)tensor.DataType, tensor.Dims.Cast<object>().ToArray()));
    }
}
