using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Discovery;

/// <summary>
/// Finds the linear layers of an exported model: MatMul or Gemm nodes whose weight is a constant 2-D
/// initializer (directly, through a <c>Transpose</c>, or via Gemm's <c>transB</c>), and recovers the PyTorch
/// module path of each from what the exporter left in the graph.
/// </summary>
/// <remarks>
/// Attention-score MatMuls read two activations and are not linear modules. Path recovery, first match wins:
/// the scope-path node name of newer exporters (<c>/encoder/layer.0/attention/self/query/MatMul</c>); the weight
/// initializer's name (<c>pooler.dense.weight</c>); the bias initializer consumed by the following Add in older
/// exports whose weights have numeric names (<c>encoder.layer.0.attention.self.query.bias</c>); else the node name.
/// </remarks>
public static class LinearModuleFinder
{
    /// <summary>All linear modules of <paramref name="model"/>, in graph order.</summary>
    public static IReadOnlyList<LinearModule> Find(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var index = new GraphIndex(model.Graph);
        var found = new List<LinearModule>();
        foreach (var node in model.Graph.Node)
        {
            LinearModule? module = node.OpType switch
            {
                "MatMul" when node.Domain is "" or "ai.onnx" => FromMatMul(node, index),
                "Gemm" when node.Domain is "" or "ai.onnx" => FromGemm(node, index),
                _ => null,
            };
            if (module != null)
                found.Add(module);
        }
        return MakePathsUnique(found);
    }

    static LinearModule? FromMatMul(NodeProto node, GraphIndex index)
    {
        if (node.Input.Count != 2 || index.Initializers.ContainsKey(node.Input[0]))
            return null;
        var (weight, layout) = ResolveWeight(node.Input[1], index);
        if (weight == null || weight.Dims.Count != 2)
            return null;
        int inFeatures = (int)(layout == WeightLayout.InOut ? weight.Dims[0] : weight.Dims[1]);
        int outFeatures = (int)(layout == WeightLayout.InOut ? weight.Dims[1] : weight.Dims[0]);
        var (biasName, output) = FollowingBiasAdd(node.Output[0], outFeatures, index);
        var (path, source) = RecoverPath(node, weight.Name, biasName);
        return new LinearModule(path, source, node.Name, "MatMul", inFeatures, outFeatures, weight.Name, layout,
            biasName, node.Input[0], output);
    }

    static LinearModule? FromGemm(NodeProto node, GraphIndex index)
    {
        // y = alpha·A'·B' + beta·C; only the plain form x·W (+ bias) is a linear module we can adapt and merge.
        if (node.Input.Count < 2 || Attr.GetInt(node, "transA", 0) != 0 || Attr.GetFloat(node, "alpha", 1f) != 1f)
            return null;
        if (!index.Initializers.TryGetValue(node.Input[1], out var weight) || weight.Dims.Count != 2)
            return null;
        var layout = Attr.GetInt(node, "transB", 0) != 0 ? WeightLayout.OutIn : WeightLayout.InOut;
        int inFeatures = (int)(layout == WeightLayout.InOut ? weight.Dims[0] : weight.Dims[1]);
        int outFeatures = (int)(layout == WeightLayout.InOut ? weight.Dims[1] : weight.Dims[0]);
        string? bias = node.Input.Count > 2 && index.Initializers.ContainsKey(node.Input[2]) && Attr.GetFloat(node, "beta", 1f) == 1f
            ? node.Input[2] : null;
        var (path, source) = RecoverPath(node, weight.Name, bias);
        return new LinearModule(path, source, node.Name, "Gemm", inFeatures, outFeatures, weight.Name, layout,
            bias, node.Input[0], node.Output[0]);
    }

    // The weight input is an initializer ([in,out]) or Transpose(perm=[1,0]) of one ([out,in]).
    static (TensorProto? Weight, WeightLayout Layout) ResolveWeight(string value, GraphIndex index)
    {
        if (index.Initializers.TryGetValue(value, out var direct))
            return (direct, WeightLayout.InOut);
        var producer = index.Producer(value);
        if (producer is { OpType: "Transpose" } && index.Initializers.TryGetValue(producer.Input[0], out var source)
            && source.Dims.Count == 2 && (Attr.GetInts(producer, "perm") is null or [1, 0])
            && index.Consumers(value).Count == 1)
            return (source, WeightLayout.OutIn);
        return (null, WeightLayout.InOut);
    }

    // MatMul → Add(bias) where bias is a 1-D initializer of out_features: the module's output is the Add's.
    static (string? Bias, string Output) FollowingBiasAdd(string matmulOutput, int outFeatures, GraphIndex index)
    {
        if (index.UseCount(matmulOutput) != 1 || index.Consumers(matmulOutput) is not [{ OpType: "Add" } add])
            return (null, matmulOutput);
        string other = add.Input[0] == matmulOutput ? add.Input[1] : add.Input[0];
        if (index.Initializers.TryGetValue(other, out var bias) && bias.Dims.Count == 1 && bias.Dims[0] == outFeatures)
            return (other, add.Output[0]);
        return (null, matmulOutput);
    }

    static (string Path, PathSource Source) RecoverPath(NodeProto node, string weightName, string? biasName)
    {
        if (FromScopeName(node.Name) is { } scoped)
            return (scoped, PathSource.NodeScope);
        if (StripSuffix(weightName, ".weight") is { } fromWeight)
            return (fromWeight, PathSource.WeightName);
        if (biasName != null && StripSuffix(biasName, ".bias") is { } fromBias)
            return (fromBias, PathSource.BiasName);
        return (string.IsNullOrEmpty(node.Name) ? weightName : node.Name, PathSource.NodeName);
    }

    // "/encoder/layer.0/attention/self/query/MatMul" → "encoder.layer.0.attention.self.query"
    static string? FromScopeName(string nodeName)
    {
        if (!nodeName.StartsWith('/'))
            return null;
        string[] parts = nodeName.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 ? string.Join('.', parts[..^1]) : null;
    }

    static string? StripSuffix(string name, string suffix) =>
        name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal) ? name[..^suffix.Length] : null;

    // Two nodes can claim one path (a module called twice); later ones get the node name appended.
    static List<LinearModule> MakePathsUnique(List<LinearModule> modules)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<LinearModule>(modules.Count);
        foreach (var m in modules)
            result.Add(seen.Add(m.Path) ? m : m with { Path = $"{m.Path}@{m.NodeName}" });
        return result;
    }
}
