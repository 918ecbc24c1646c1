using Onnx;
using VbLoraOrt.Adapters;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Tasks;

/// <summary>What <see cref="TaskHead.Append"/> added to a graph.</summary>
/// <param name="OutputName">The task output (<c>logits</c> or <c>embeddings</c>), a graph output.</param>
/// <param name="LossName">The scalar loss value, or null when built without loss.</param>
/// <param name="LabelInputs">Graph inputs the loss reads (empty for embed: its targets are the batch layout).</param>
/// <param name="Trainables">The head's trainable tensors (group <see cref="ParameterGroups.Head"/>).</param>
/// <param name="InitialValues">Initial values of <paramref name="Trainables"/>, by name.</param>
public sealed record TaskGraph(
    string OutputName,
    string? LossName,
    IReadOnlyList<ValueInfoProto> LabelInputs,
    IReadOnlyList<TrainableTensor> Trainables,
    IReadOnlyDictionary<string, float[]> InitialValues);

/// <summary>
/// Appends a task head and its loss after an encoder's token states.
/// classify: pooling → linear head → <c>logits [batch, labels]</c>; loss cross-entropy (mean over the batch), or
/// MSE when there is one label. embed: masked mean pooling → L2 normalisation → <c>embeddings [batch, hidden]</c>;
/// the batch holds anchors then their positives (rows i and B+i), and the loss is cross-entropy over the scaled
/// cosine similarities of every anchor with every positive (in-batch negatives).
/// </summary>
public static class TaskHead
{
    /// <summary>Adds the head to <paramref name="model"/>'s graph.</summary>
    /// <param name="model">Model whose graph holds <paramref name="hiddenStates"/> <c>[batch, seq, hidden]</c>.</param>
    /// <param name="options">Task options (validated here).</param>
    /// <param name="hiddenStates">Token states value.</param>
    /// <param name="attentionMask">The int64 <c>[batch, seq]</c> mask input.</param>
    /// <param name="hiddenSize">Size of the last axis of <paramref name="hiddenStates"/>.</param>
    /// <param name="withLoss">Also emit the loss (and its label input).</param>
    /// <param name="headAsInputs">Head tensors become graph inputs (training) instead of initializers.</param>
    /// <param name="seed">Seed of the head's initial values.</param>
    /// <param name="headValues">Values for the head tensors (e.g. trained ones); null = fresh init from the seed.</param>
    public static TaskGraph Append(OnnxModel model, TaskOptions options, string hiddenStates, string attentionMask,
        int hiddenSize, bool withLoss, bool headAsInputs, long seed, IReadOnlyDictionary<string, float[]>? headValues = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var e = new GraphEmitter(model.Graph, "head");
        long opset = model.Opset;
        return options.Kind == TaskKind.Classify
            ? AppendClassifier(model, e, opset, options, hiddenStates, attentionMask, hiddenSize, withLoss, headAsInputs, seed, headValues)
            : AppendEmbedder(model, e, opset, options, hiddenStates, attentionMask, hiddenSize, withLoss);
    }

    static TaskGraph AppendClassifier(OnnxModel model, GraphEmitter e, long opset, TaskOptions options, string hidden,
        string mask, int hiddenSize, bool withLoss, bool headAsInputs, long seed, IReadOnlyDictionary<string, float[]>? values)
    {
        int labels = options.NumLabels;
        var trainables = new List<TrainableTensor>
        {
            new(ArtifactNames.HeadWeight, [hiddenSize, labels], ParameterGroups.Head),
            new(ArtifactNames.HeadBias, [labels], ParameterGroups.Head),
        };
        var init = new Dictionary<string, float[]>
        {
            [ArtifactNames.HeadWeight] = values?[ArtifactNames.HeadWeight] ?? new SeededRandom(seed, ArtifactNames.HeadWeight).Normal((long)hiddenSize * labels, options.HeadInitStd),
            [ArtifactNames.HeadBias] = values?[ArtifactNames.HeadBias] ?? new float[labels],
        };
        foreach (var t in trainables)
            Bind(model.Graph, e.Names, t, init[t.Name], headAsInputs);

        string pooled = options.Pooling == Pooling.Cls ? ClsPool(e, hidden) : MeanPool(e, opset, hidden, mask);
        string logits = e.Names.Reserve(ArtifactNames.Logits);
        e.OpNamed("Add", [e.Op("MatMul", [pooled, ArtifactNames.HeadWeight]), ArtifactNames.HeadBias], [logits]);
        model.Graph.Output.Add(FloatValue(logits, "batch", labels));

        if (!withLoss)
            return new TaskGraph(logits, null, [], trainables, init);
        if (labels == 1)
        {
            var target = FloatValue(ArtifactNames.Labels, "batch");
            model.Graph.Input.Add(target);
            string diff = e.Op("Sub", [e.Op("Reshape", [logits, e.Int64s("flat", -1)]), ArtifactNames.Labels]);
            string mse = e.Op("ReduceMean", [e.Op("Mul", [diff, diff])], Attr.Int("keepdims", 0));
            return new TaskGraph(logits, mse, [target], trainables, init);
        }
        var classes = ValueInfos.Tensor(ArtifactNames.Labels, TensorProto.Types.DataType.Int64, "batch");
        model.Graph.Input.Add(classes);
        return new TaskGraph(logits, CrossEntropy(e, opset, logits, ArtifactNames.Labels), [classes], trainables, init);
    }

    static TaskGraph AppendEmbedder(OnnxModel model, GraphEmitter e, long opset, TaskOptions options, string hidden, string mask,
        int hiddenSize, bool withLoss)
    {
        string pooled = MeanPool(e, opset, hidden, mask);
        // x / max(‖x‖, 1e-12), as torch.nn.functional.normalize
        string norm = e.Op("Sqrt", [e.ReduceSum(opset, e.Op("Mul", [pooled, pooled]), [-1], keepDims: true)]);
        string embeddings = e.Names.Reserve(ArtifactNames.Embeddings);
        e.OpNamed("Div", [pooled, e.Op("Max", [norm, e.Scalar(1e-12)])], [embeddings]);
        model.Graph.Output.Add(FloatValue(embeddings, "batch", hiddenSize));
        if (!withLoss)
            return new TaskGraph(embeddings, null, [], [], new Dictionary<string, float[]>());

        // Rows are [anchors; positives]: view as [2, B, hidden] and take each half.
        string pairs = e.Op("Reshape", [embeddings, e.Int64s("pairs_shape", 2, -1, hiddenSize)]);
        string anchors = e.Op("Gather", [pairs, e.Constant(Tensors.Int64("", [], [0]), "anchor_index")], Attr.Int("axis", 0));
        string positives = e.Op("Gather", [pairs, e.Constant(Tensors.Int64("", [], [1]), "positive_index")], Attr.Int("axis", 0));
        string similarity = e.Op("MatMul", [anchors, e.Op("Transpose", [positives], Attr.Ints("perm", 1, 0))]);
        string scores = e.Op("Mul", [similarity, e.Scalar(options.EmbedScale)]);
        // The positive of anchor i is column i.
        string count = e.Op("Gather", [e.Op("Shape", [anchors]), e.Constant(Tensors.Int64("", [], [0]), "batch_axis")], Attr.Int("axis", 0));
        string targets = e.Op("Range", [e.Constant(Tensors.Int64("", [], [0]), "zero"), count, e.Constant(Tensors.Int64("", [], [1]), "one")]);
        return new TaskGraph(embeddings, CrossEntropy(e, opset, scores, targets), [], [], new Dictionary<string, float[]>());
    }

    // hidden[:, 0, :]
    static string ClsPool(GraphEmitter e, string hidden) =>
        e.Op("Gather", [hidden, e.Constant(Tensors.Int64("", [], [0]), "cls_index")], Attr.Int("axis", 1));

    // Σ_s mask[b,s]·hidden[b,s,:] / max(Σ_s mask[b,s], 1e-9), as one batched MatMul [B,1,S]·[B,S,H].
    static string MeanPool(GraphEmitter e, long opset, string hidden, string mask)
    {
        string m = e.Op("Cast", [mask], Attr.Int("to", (int)TensorProto.Types.DataType.Float));
        string total = e.Op("Max", [e.ReduceSum(opset, m, [1], keepDims: true), e.Scalar(1e-9)]);
        string weights = e.Unsqueeze(opset, e.Op("Div", [m, total]), 1);
        string pooled = e.Op("MatMul", [weights, hidden]);
        return e.Op("Reshape", [pooled, e.Int64s("pooled_shape", 0, -1)]);
    }

    // mean_b( −log softmax(scores)[b, target_b] )
    static string CrossEntropy(GraphEmitter e, long opset, string scores, string targets)
    {
        string logProbabilities = e.Op("LogSoftmax", [scores], Attr.Int("axis", 1));
        string picked = e.Op("GatherElements", [logProbabilities, e.Unsqueeze(opset, targets, 1)], Attr.Int("axis", 1));
        return e.Op("Neg", [e.Op("ReduceMean", [picked], Attr.Int("keepdims", 0))]);
    }

    static void Bind(GraphProto graph, UniqueNames names, TrainableTensor t, float[] values, bool asInput)
    {
        names.Reserve(t.Name);
        if (asInput)
            graph.Input.Add(FloatValue(t.Name, t.Shape.Cast<object>().ToArray()));
        else
            graph.Initializer.Add(Tensors.Float(t.Name, t.Shape, values));
    }

    static ValueInfoProto FloatValue(string name, params object[] dims) => ValueInfos.Float(name, dims);
}
