using Onnx;
using TorchSharp;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using static TorchSharp.torch;

namespace VbLoraOrt.TorchReference;

/// <summary>A linear layer as <c>torch.nn.Linear</c> holds it: weight <c>[out, in]</c>, bias <c>[out]</c>.</summary>
/// <param name="Path">The module path <see cref="LinearModuleFinder"/> recovered (the adapter's target names use it).</param>
sealed record LinearWeights(string Path, Tensor Weight, Tensor Bias);

/// <summary>LayerNorm's scale and shift, <c>[hidden]</c> each.</summary>
sealed record LayerNormWeights(Tensor Weight, Tensor Bias);

/// <summary>One BERT encoder layer.</summary>
sealed record EncoderLayerWeights(
    LinearWeights Query, LinearWeights Key, LinearWeights Value, LinearWeights AttentionOutput, LayerNormWeights AttentionNorm,
    LinearWeights Intermediate, LinearWeights Output, LayerNormWeights OutputNorm);

/// <summary>
/// The frozen weights of an exported BERT-style encoder (all-MiniLM-L6-v2), read from the ONNX model's initializers
/// with the project's own loader, as torch tensors (no gradient). Linear layers are found and named by
/// <see cref="LinearModuleFinder"/>, as <c>prepare</c> finds them; an <see cref="WeightLayout.InOut"/> weight (how a
/// MatMul export stores <c>Linear.weight.T</c>) is transposed back to torch's <c>[out, in]</c>. LayerNorm's ε and the
/// attention head size are read from the graph's constants, not assumed.
/// </summary>
sealed class MiniLmWeights
{
    /// <summary>Attention heads of all-MiniLM-L6-v2 (its config; the export bakes it into Reshape targets). Checked
    /// against the graph's attention scale 1/√(hidden/heads) when loading.</summary>
    public const int AttentionHeads = 12;

    MiniLmWeights(Tensor word, Tensor position, Tensor tokenType, LayerNormWeights embeddingNorm, IReadOnlyList<EncoderLayerWeights> layers,
        double epsilon, int hidden)
    {
        WordEmbeddings = word;
        PositionEmbeddings = position;
        TokenTypeEmbeddings = tokenType;
        EmbeddingNorm = embeddingNorm;
        Layers = layers;
        LayerNormEpsilon = epsilon;
        Hidden = hidden;
    }

    public Tensor WordEmbeddings { get; }
    public Tensor PositionEmbeddings { get; }
    public Tensor TokenTypeEmbeddings { get; }
    public LayerNormWeights EmbeddingNorm { get; }
    public IReadOnlyList<EncoderLayerWeights> Layers { get; }

    /// <summary>ε of every LayerNorm (the constant added to the variance in the export).</summary>
    public double LayerNormEpsilon { get; }

    /// <summary>Hidden size (384).</summary>
    public int Hidden { get; }

    /// <summary>Reads the weights of <paramref name="modelPath"/>.</summary>
    public static MiniLmWeights Load(string modelPath)
    {
        var model = OnnxModel.Load(modelPath);
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Tensor Read(string name)
        {
            var proto = initializers.GetValueOrDefault(name) ?? throw new InvalidOperationException($"{modelPath}: no initializer '{name}'.");
            return tensor(model.Tensors.ReadFloats(proto), [.. proto.Dims]);
        }
        LayerNormWeights Norm(string prefix) => new(Read($"{prefix}.LayerNorm.weight"), Read($"{prefix}.LayerNorm.bias"));

        var linear = LinearModuleFinder.Find(model).ToDictionary(m => m.Path, StringComparer.Ordinal);
        LinearWeights Linear(string path)
        {
            var module = linear.GetValueOrDefault(path)
                ?? throw new InvalidOperationException($"{modelPath}: LinearModuleFinder found no linear module '{path}'.");
            if (module.BiasName is null)
                throw new InvalidOperationException($"{modelPath}: linear module '{path}' has no bias; BERT's have one.");
            var weight = Read(module.WeightName);
            // torch's Linear keeps [out, in]; the MatMul export stores the transpose.
            var outIn = module.Layout == WeightLayout.InOut ? weight.t().contiguous() : weight;
            return new LinearWeights(path, outIn, Read(module.BiasName));
        }

        int layerCount = Enumerable.Range(0, 1000).TakeWhile(i => linear.ContainsKey($"encoder.layer.{i}.attention.self.query")).Count();
        if (layerCount == 0)
            throw new InvalidOperationException($"{modelPath}: no linear module 'encoder.layer.0.attention.self.query'; is this a BERT export?");
        var layers = Enumerable.Range(0, layerCount).Select(i =>
        {
            string p = $"encoder.layer.{i}";
            return new EncoderLayerWeights(
                Linear($"{p}.attention.self.query"), Linear($"{p}.attention.self.key"), Linear($"{p}.attention.self.value"),
                Linear($"{p}.attention.output.dense"), Norm($"{p}.attention.output"),
                Linear($"{p}.intermediate.dense"), Linear($"{p}.output.dense"), Norm($"{p}.output"));
        }).ToList();

        var word = Read("embeddings.word_embeddings.weight");
        int hidden = (int)word.shape[1];
        CheckAttentionScale(model, modelPath, hidden);
        return new MiniLmWeights(word, Read("embeddings.position_embeddings.weight"), Read("embeddings.token_type_embeddings.weight"),
            Norm("embeddings"), layers, ReadLayerNormEpsilon(model, modelPath), hidden);
    }

    // The export's LayerNorms are decomposed: Sqrt(ReduceMean(d²) + ε). Every ε must be the same constant.
    static double ReadLayerNormEpsilon(OnnxModel model, string modelPath)
    {
        var producers = Producers(model);
        var epsilons = model.Graph.Node.Where(n => n.OpType == "Sqrt")
            .Select(n => producers.GetValueOrDefault(n.Input[0]))
            .Where(add => add is { OpType: "Add" } && add.Input.Any(i => producers.GetValueOrDefault(i)?.OpType == "ReduceMean"))
            .Select(add => add!.Input.Select(i => Scalar(model, producers, i)).OfType<double>().Single())
            .Distinct().ToList();
        return epsilons.Count == 1
            ? epsilons[0]
            : throw new InvalidOperationException($"{modelPath}: expected one LayerNorm ε, found [{string.Join(", ", epsilons)}].");
    }

    // Attention scores are divided by √(head size): that constant must match hidden / AttentionHeads.
    static void CheckAttentionScale(OnnxModel model, string modelPath, int hidden)
    {
        var producers = Producers(model);
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var scales = model.Graph.Node
            .Where(n => n.OpType == "Div" && producers.GetValueOrDefault(n.Input[0]) is { OpType: "MatMul" } m && m.Input.All(i => !initializers.Contains(i)))
            .Select(n => Scalar(model, producers, n.Input[1])).Distinct().ToList();
        double expected = Math.Sqrt(hidden / AttentionHeads);
        if (scales.Count != 1 || scales[0] is not double scale || Math.Abs(scale - expected) > 1e-5)
            throw new InvalidOperationException(
                $"{modelPath}: attention scores are divided by [{string.Join(", ", scales)}], not √({hidden}/{AttentionHeads}) = {expected}; the head count differs.");
    }

    static Dictionary<string, NodeProto> Producers(OnnxModel model) =>
        model.Graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(x => x.o, x => x.n, StringComparer.Ordinal);

    // A float scalar from a Constant node or an initializer; null when the value is neither.
    static double? Scalar(OnnxModel model, Dictionary<string, NodeProto> producers, string value)
    {
        var proto = producers.GetValueOrDefault(value) is { OpType: "Constant" } constant
            ? constant.Attribute.FirstOrDefault(a => a.Name == "value")?.T
            : model.Graph.Initializer.FirstOrDefault(t => t.Name == value);
        return proto is { DataType: (int)TensorProto.Types.DataType.Float } && proto.Dims.Aggregate(1L, (a, d) => a * d) == 1
            ? model.Tensors.ReadFloats(proto)[0]
            : null;
    }
}
