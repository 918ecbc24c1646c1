using Onnx;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Bench;

/// <summary>
/// Counts the floating-point operations of a graph's matrix products (MatMul, Gemm) at concrete input sizes:
/// <c>2·M·K·N</c> per product, times the broadcast batch of a batched MatMul. Element-wise ops, softmax and
/// normalizations are left out; they are a few percent of a transformer's work.
/// </summary>
public static class MatMulFlops
{
    /// <summary>Counts <paramref name="model"/>'s products with every symbolic input dimension fixed by <paramref name="dims"/>.</summary>
    /// <param name="model">The model (not changed; a copy gets the concrete sizes).</param>
    /// <param name="dims">Value of each symbolic dimension of the graph inputs, e.g. <c>batch</c> → 16, <c>sequence</c> → 128.</param>
    /// <exception cref="ArgumentException">A graph input has a symbolic dimension <paramref name="dims"/> does not give.</exception>
    public static FlopCount Count(OnnxModel model, IReadOnlyDictionary<string, long> dims)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dims);
        var sized = model.Clone();
        foreach (var input in sized.Graph.Input)
            foreach (var dim in input.Type?.TensorType?.Shape?.Dim ?? [])
            {
                if (dim.ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam)
                    continue;
                if (!dims.TryGetValue(dim.DimParam, out long value))
                    throw new ArgumentException(
                        $"graph input '{input.Name}' has dimension '{dim.DimParam}'; give its size (known: {string.Join(", ", dims.Keys)}).", nameof(dims));
                dim.DimValue = value;
            }
        var facts = ShapeInference.Infer(sized, new GraphConstants(sized));

        double flops = 0;
        int products = 0;
        var unresolved = new List<string>();
        foreach (var node in sized.Graph.Node)
        {
            if (node.OpType is not ("MatMul" or "Gemm"))
                continue;
            double? f = node.OpType == "MatMul"
                ? MatMul(facts[node.Input[0]], facts[node.Input[1]])
                : Gemm(node, facts[node.Input[0]], facts[node.Input[1]]);
            if (f is null)
                unresolved.Add(node.Name);
            else
            {
                flops += f.Value;
                products++;
            }
        }
        return new FlopCount(flops, products, unresolved);
    }

    // [..., M, K] · [..., K, N] with numpy broadcasting of the leading dims; 1-D operands as in numpy.
    static double? MatMul(TensorFacts a, TensorFacts b)
    {
        if (!a.IsStaticShape || !b.IsStaticShape)
            return null;
        long[] x = a.StaticShape(), y = b.StaticShape();
        if (x.Length == 0 || y.Length == 0)
            return null;
        if (x.Length == 1) x = [1, x[0]];
        if (y.Length == 1) y = [y[0], 1];
        long m = x[^2], k = x[^1], n = y[^1];
        long batch = 1;
        for (int i = 3; i <= Math.Max(x.Length, y.Length); i++)
            batch *= Math.Max(i <= x.Length ? x[^i] : 1, i <= y.Length ? y[^i] : 1);
        return 2.0 * batch * m * k * n;
    }

    static double? Gemm(NodeProto node, TensorFacts a, TensorFacts b)
    {
        if (!a.IsStaticShape || !b.IsStaticShape || a.Rank != 2 || b.Rank != 2)
            return null;
        long[] x = a.StaticShape(), y = b.StaticShape();
        bool transA = node.Attribute.Any(t => t.Name == "transA" && t.I != 0);
        bool transB = node.Attribute.Any(t => t.Name == "transB" && t.I != 0);
        long m = transA ? x[1] : x[0], k = transA ? x[0] : x[1], n = transB ? y[0] : y[1];
        return 2.0 * m * k * n;
    }
}

/// <summary>The matrix-product work of a graph.</summary>
/// <param name="Flops">Floating-point operations of the products whose shapes are known.</param>
/// <param name="Products">Products counted.</param>
/// <param name="Unresolved">Names of products whose operand shapes could not be inferred (not counted).</param>
public sealed record FlopCount(double Flops, int Products, IReadOnlyList<string> Unresolved);
