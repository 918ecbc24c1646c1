using DataType = Onnx.TensorProto.Types.DataType;
using Onnx;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Core;

/// <summary>
/// Emits the backward graph's ops in the model's opset (axes as attributes or inputs as each op's version
/// wants) and computes shared subexpressions once: shapes, transposed weights, constants.
/// </summary>
internal sealed class BackwardBuilder
{
    readonly GraphEmitter _root;
    readonly Dictionary<string, string> _memo = new(StringComparer.Ordinal);
    readonly Dictionary<string, (string Input, long[] Perm)> _transposes = new(StringComparer.Ordinal);
    readonly HashSet<string> _transposeOutputs;
    readonly Dictionary<string, string> _swapsOfSameShape;
    GraphEmitter _current;
    NodeProto? _forward;

    /// <param name="emitter">Emits into the graph being differentiated.</param>
    /// <param name="opset">Default-domain opset of the model.</param>
    /// <param name="facts">Static facts of the forward graph's values.</param>
    /// <param name="constants">The forward graph's constants.</param>
    /// <param name="fusionShaped">Shape the backward for fewer passes (DESIGN.md §4.2).</param>
    /// <param name="forward">The forward graph's nodes (before any backward node is emitted).</param>
    public BackwardBuilder(GraphEmitter emitter, long opset, ShapeFacts facts, GraphConstants constants, bool fusionShaped, IEnumerable<NodeProto> forward)
    {
        FusionShaped = fusionShaped;
        var nodes = forward.ToList();
        _transposeOutputs = nodes.Where(n => n.OpType == "Transpose").SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        _root = _current = emitter;
        Opset = opset;
        Facts = facts;
        Constants = constants;
        _swapsOfSameShape = SwapsOfSameShape(nodes, constants, facts);
    }

    // Forward values s = swap(Reshape(y, all zeros)) (a kept swap, as the key split writes kᵀ), keyed by s, giving y.
    static Dictionary<string, string> SwapsOfSameShape(IReadOnlyList<NodeProto> forward, GraphConstants constants, ShapeFacts facts)
    {
        var sameShape = forward.Where(n => n.OpType == "Reshape" && facts[n.Input[0]].Rank is int rank && IsSameShapeReshape(n, constants, rank))
            .ToDictionary(n => n.Output[0], n => n.Input[0], StringComparer.Ordinal);
        return forward.Where(n => n.OpType == "Transpose" && Attr.GetInts(n, "perm") is { Length: >= 2 } perm && perm.SequenceEqual(SwapLastTwo(perm.Length))
                && sameShape.ContainsKey(n.Input[0]))
            .ToDictionary(n => n.Output[0], n => sameShape[n.Input[0]], StringComparer.Ordinal);
    }

    /// <summary>
    /// True for a Reshape to its input's own shape: a constant all-zero shape (every dimension copied, allowzero 0) as
    /// long as the input's rank <paramref name="inputRank"/>. It moves nothing; its gradient is its output's.
    /// </summary>
    public static bool IsSameShapeReshape(NodeProto node, GraphConstants constants, int inputRank) =>
        node.OpType == "Reshape" && node.Domain is "" or "ai.onnx" && node.Input.Count == 2 && Attr.GetInt(node, "allowzero", 0) == 0
        && constants.Integers(node.Input[1]) is { } shape && shape.Length == inputRank && shape.All(d => d == 0);

    /// <summary>Default-domain opset of the model (and so of every emitted op).</summary>
    public long Opset { get; }

    /// <summary>Static facts of the forward graph's values.</summary>
    public ShapeFacts Facts { get; }

    /// <summary>The forward graph's constants.</summary>
    public GraphConstants Constants { get; }

    /// <summary>True when rules shape the backward for fewer passes (DESIGN.md §4.2).</summary>
    public bool FusionShaped { get; }

    /// <summary>Names the nodes emitted next after the forward node they differentiate.</summary>
    public void BeginNode(NodeProto forward)
    {
        _forward = forward;
        _current = _root.Nested(forward.Name.Length > 0 ? forward.Name : forward.OpType);
    }

    // ---- plain ops ----------------------------------------------------------------------------------------

    public string Op(string opType, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
        _current.Op(opType, inputs, attributes);

    public string Add(string a, string b) => Op("Add", [a, b]);
    public string Sub(string a, string b) => Op("Sub", [a, b]);
    public string Mul(string a, string b) => Op("Mul", [a, b]);
    public string Div(string a, string b) => Op("Div", [a, b]);
    public string Neg(string a) => Op("Neg", [a]);
    public string MatMul(string a, string b) => Op("MatMul", [a, b]);
    public string Reshape(string x, string shape) => Op("Reshape", [x, shape]);
    public string Cast(string x, int to) => Op("Cast", [x], Attr.Int("to", to));
    public string Where(string condition, string x, string y) => Op("Where", [condition, x, y]);
    public string Expand(string x, string shape) => Op("Expand", [x, shape]);
    public string Concat(IEnumerable<string> parts, long axis) => Op("Concat", parts, Attr.Int("axis", axis));

    /// <summary>Elements from which a sum of several gradients is a tree of Adds rather than one Sum.</summary>
    public const long AddTreeMinElements = 1 << 16;

    /// <summary>
    /// Sum of the gradient contributions to forward value <paramref name="like"/> (each of its shape). Under
    /// <see cref="FusionShaped"/>, three or more contributions to a large value (a symbolic dimension, or at least
    /// <see cref="AddTreeMinElements"/> elements) are added as a balanced tree of Adds: ONNX Runtime's CPU Sum runs on
    /// one thread, its Add on the whole pool (DESIGN.md §4.2). Small sums stay one Sum node.
    /// </summary>
    public string Sum(IReadOnlyList<string> parts, string? like = null)
    {
        switch (parts.Count)
        {
            case 0: throw new ArgumentException("nothing to sum", nameof(parts));
            case 1: return parts[0];
            case 2: return Add(parts[0], parts[1]);
        }
        var facts = like == null ? null : Facts[like];
        bool large = facts?.Shape is { } shape && (shape.Any(d => !d.IsStatic) || facts.StaticElementCount() >= AddTreeMinElements);
        if (!FusionShaped || !large)
            return Op("Sum", parts);
        var level = parts.ToList();
        while (level.Count > 1)
            level = [.. Enumerable.Range(0, (level.Count + 1) / 2).Select(i => 2 * i + 1 < level.Count ? Add(level[2 * i], level[2 * i + 1]) : level[2 * i])];
        return level[0];
    }

    // ---- constants (shared) ------------------------------------------------------------------------------

    /// <summary>A scalar of <paramref name="elemType"/>, created once per value and type.</summary>
    public string Scalar(double value, int elemType) =>
        Memo($"scalar:{elemType}:{value:R}", () => _root.Constant(ScalarTensor(value, elemType), "scalar"));

    /// <summary>A constant tensor (not shared).</summary>
    public string Constant(TensorProto value, string hint) => _root.Constant(value, hint);

    /// <summary>A 1-D int64 constant, created once per value.</summary>
    public string Int64s(params long[] values) =>
        Memo($"ints:{string.Join(",", values)}", () => _root.Int64s("ints", values));

    /// <summary>A 0-D int64 constant.</summary>
    public string Int64Scalar(long value) =>
        Memo($"int:{value}", () => _root.Constant(Tensors.Int64("", [], [value]), "int"));

    static TensorProto ScalarTensor(double value, int elemType) => (DataType)elemType switch
    {
        DataType.Float or DataType.Double or DataType.Int64 => Tensors.Scalar("", elemType, value),
        _ => throw new DifferentiationException(
            $"gradients of {ElementType.Name(elemType)} tensors are not supported (float and double are); cast the model to float32."),
    };

    // ---- shapes ------------------------------------------------------------------------------------------

    /// <summary>The shape of forward value <paramref name="value"/> as a 1-D int64 tensor (constant when static).</summary>
    public string ShapeOf(string value)
    {
        var facts = Facts[value];
        return facts.IsStaticShape
            ? Int64s(facts.StaticShape())
            : Memo($"shape:{value}", () => _root.Op("Shape", [value]));
    }

    /// <summary>Size of axis <paramref name="axis"/> of <paramref name="value"/> as a 1-D int64 tensor of one element.</summary>
    public string DimOf(string value, long axis)
    {
        var facts = Facts[value];
        if (facts.Shape != null)
        {
            int a = (int)Normalize(axis, facts.Shape.Count);
            if (facts.Shape[a].Value is long n)
                return Int64s(n);
            axis = a;
        }
        long end = axis == -1 ? long.MaxValue : axis + 1;
        return Memo($"dim:{value}:{axis}", () => _root.Op("Slice", [ShapeOf(value), Int64s(axis), Int64s(end), Int64s(0)]));
    }

    /// <summary>Number of elements of <paramref name="value"/> as an int64 scalar.</summary>
    public string SizeOf(string value) =>
        Facts[value].StaticElementCount() is long n ? Int64Scalar(n) : Memo($"size:{value}", () => _root.Op("Size", [value]));

    /// <summary>A zero tensor shaped like forward value <paramref name="value"/>.</summary>
    public string ZerosLike(string value, int elemType) =>
        Memo($"zeros:{value}:{elemType}", () => _root.Op("ConstantOfShape", [ShapeOf(value)],
            Attr.Tensor("value", OneElement(0, elemType))));

    /// <summary>A tensor of <paramref name="shape"/> (a 1-D int64 value) filled with <paramref name="value"/>.</summary>
    public string Filled(string shape, double value, int elemType) =>
        Op("ConstantOfShape", [shape], Attr.Tensor("value", OneElement(value, elemType)));

    static TensorProto OneElement(double value, int elemType) => (DataType)elemType switch
    {
        DataType.Float => Tensors.Float("", [1], [(float)value]),
        DataType.Double => Tensors.Double("", [1], [value]),
        DataType.Int64 => Tensors.Int64("", [1], [(long)value]),
        _ => throw new DifferentiationException($"gradients of {ElementType.Name(elemType)} tensors are not supported (float and double are)."),
    };

    /// <summary><paramref name="grad"/> reshaped to the shape of forward value <paramref name="like"/>.</summary>
    public string ReshapeLike(string grad, string like) => Reshape(grad, ShapeOf(like));

    /// <summary>A transpose of a forward value, emitted once per value and permutation.</summary>
    public string Transpose(string x, long[] perm) =>
        Memo($"transpose:{x}:{string.Join(",", perm)}", () => _root.Op("Transpose", [x], Attr.Ints("perm", perm)));

    /// <summary>
    /// The last-two-axes swap of forward value <paramref name="x"/> (rank <paramref name="rank"/>) that a product reads,
    /// emitted once per value. Under <see cref="FusionShaped"/>, when <paramref name="x"/> is a batched (rank 3 and up)
    /// Transpose's output (attention's head-split q, kᵀ, v), the swap reads it through a Reshape to its own shape (all-zero shape: every
    /// dimension copied): ONNX Runtime's transpose optimizer would otherwise merge the two transposes into one it
    /// materializes on a single thread, where a swap left alone folds into the product (FusedMatMul transA/transB).
    /// Same values either way (DESIGN.md §4.2, "Swaps kept foldable"). When <paramref name="x"/> is itself such a kept
    /// swap of a forward value (the split key transpose's kᵀ), its swap is that value, read as it is.
    /// </summary>
    public string SwapForProduct(string x, int rank)
    {
        long[] swap = SwapLastTwo(rank);
        if (FusionShaped && _swapsOfSameShape.TryGetValue(x, out var unswapped))
            return unswapped; // x is itself a kept swap: its swap is the value it swapped
        if (!FusionShaped || rank < 3 || !_transposeOutputs.Contains(x))
            return Transpose(x, swap); // a 2-D transpose of a transpose cancels, which ORT does itself
        return Memo($"kept-swap:{x}", () => KeptSwap(_root, x, rank));
    }

    // Swap(Reshape(x, all zeros)): the last two axes swapped, read through a Reshape to x's own shape so that ONNX
    // Runtime's transpose optimizer leaves the swap for a product to fold instead of merging it into x's own transpose.
    string KeptSwap(GraphEmitter e, string x, int rank) =>
        e.Op("Transpose", [e.Op("Reshape", [x, Int64s(new long[rank])])], Attr.Ints("perm", SwapLastTwo(rank)));

    /// <summary>A forward value flattened to 2-D at <paramref name="axis"/>, emitted once per value and axis.</summary>
    public string Flatten(string x, long axis) =>
        Memo($"flatten:{x}:{axis}", () => _root.Op("Flatten", [x], Attr.Int("axis", axis)));

    /// <summary>
    /// Transpose of a gradient (not shared). A transpose of a transpose emitted here becomes one transpose of the
    /// original, or none when the two cancel (the first is left for <see cref="ReverseDifferentiator"/> to drop if
    /// nothing else reads it): ONNX Runtime would otherwise fuse the first into a preceding Gemm, choosing the
    /// slow operand order this builder avoided.
    /// </summary>
    public string TransposeGrad(string x, long[] perm)
    {
        if (_transposes.TryGetValue(x, out var inner))
        {
            long[] composed = perm.Select(p => inner.Perm[p]).ToArray();
            if (composed.Select((p, i) => p == i).All(same => same))
                return inner.Input;
            (x, perm) = (inner.Input, composed);
        }
        string y = Op("Transpose", [x], Attr.Ints("perm", perm));
        _transposes[y] = (x, perm);
        return y;
    }

    /// <summary>
    /// The last-two-axes swap of gradient <paramref name="grad"/> (rank <paramref name="rank"/>) that a product reads.
    /// Under <see cref="FusionShaped"/>, when <paramref name="grad"/> is itself a transpose emitted by
    /// <see cref="TransposeGrad"/> (attention's context gradient split into heads), the two would compose into one
    /// materialized transpose no product absorbs; read through a Reshape to its own shape the swap stays a swap and
    /// ONNX Runtime folds it into the product (DESIGN.md §4.2, "Swaps kept foldable").
    /// </summary>
    public string SwapGradientForProduct(string grad, int rank)
    {
        if (!FusionShaped || !_transposes.ContainsKey(grad))
            return TransposeGrad(grad, SwapLastTwo(rank));
        return KeptSwap(_current, grad, rank);
    }

    /// <summary>The input and permutation of <paramref name="value"/> when <see cref="TransposeGrad"/> produced it.</summary>
    public (string Input, long[] Perm)? TransposeOf(string value) => _transposes.TryGetValue(value, out var t) ? t : null;

    /// <summary>The permutation swapping the last two of <paramref name="rank"/> axes.</summary>
    public static long[] SwapLastTwo(int rank) =>
        Enumerable.Range(0, rank).Select(i => (long)(i == rank - 2 ? rank - 1 : i == rank - 1 ? rank - 2 : i)).ToArray();

    public static long Normalize(long axis, int rank) => axis < 0 ? axis + rank : axis;

    // ---- opset-dependent ops -----------------------------------------------------------------------------

    /// <summary>ReduceSum over constant axes (attribute before opset 13, input from 13).</summary>
    public string ReduceSum(string x, long[] axes, bool keepDims) =>
        Opset < 13
            ? Op("ReduceSum", [x], Attr.Ints("axes", axes), Attr.Int("keepdims", keepDims ? 1 : 0))
            : Op("ReduceSum", [x, Int64s(axes)], Attr.Int("keepdims", keepDims ? 1 : 0));

    /// <summary>ReduceMean over constant axes (attribute before opset 18, input from 18).</summary>
    public string ReduceMean(string x, long[] axes, bool keepDims) =>
        Opset < 18
            ? Op("ReduceMean", [x], Attr.Ints("axes", axes), Attr.Int("keepdims", keepDims ? 1 : 0))
            : Op("ReduceMean", [x, Int64s(axes)], Attr.Int("keepdims", keepDims ? 1 : 0));

    /// <summary>Unsqueeze at constant axes (attribute before opset 13, input from 13).</summary>
    public string Unsqueeze(string x, long[] axes) =>
        Opset < 13 ? Op("Unsqueeze", [x], Attr.Ints("axes", axes)) : Op("Unsqueeze", [x, Int64s(axes)]);

    /// <summary>Squeeze at constant axes (attribute before opset 13, input from 13).</summary>
    public string Squeeze(string x, long[] axes) =>
        Opset < 13 ? Op("Squeeze", [x], Attr.Ints("axes", axes)) : Op("Squeeze", [x, Int64s(axes)]);

    // ---- broadcasting ------------------------------------------------------------------------------------

    /// <summary>
    /// Sums <paramref name="grad"/> (whose shape is <paramref name="gradShape"/>, the broadcast shape) back to the
    /// shape of forward value <paramref name="target"/>. Decided statically where dims are known or share a symbol;
    /// otherwise computed at run time from <c>Shape</c> (opset 13+).
    /// </summary>
    public string SumToShape(string grad, IReadOnlyList<Dim>? gradShape, string target)
    {
        var x = Facts[target].Shape;
        if (x != null && x.All(d => d.IsOne))
        {
            // Scalar or all-ones target: sum everything, then give it the target's shape.
            string total = Op("ReduceSum", [grad], Attr.Int("keepdims", 0));
            return x.Count == 0 ? total : Reshape(total, Int64s(x.Select(_ => 1L).ToArray()));
        }
        if (x != null && gradShape != null && gradShape.Count >= x.Count && StaticReduction(x, gradShape) is { } plan)
        {
            var (leading, kept) = plan;
            if (leading.Length == 0 && kept.Length == 0)
                return grad;
            if (kept.Length == 0)
                return ReduceSum(grad, leading, keepDims: false);
            string reduced = ReduceSum(grad, leading.Concat(kept).ToArray(), keepDims: true);
            return leading.Length == 0 ? reduced : Squeeze(reduced, leading);
        }
        return RuntimeSumToShape(grad, gradShape?.Count, target);
    }

    /// <summary>Axes to drop (leading) and to sum with keepdims; null when some axis is undecidable statically.</summary>
    static (long[] Leading, long[] Kept)? StaticReduction(IReadOnlyList<Dim> x, IReadOnlyList<Dim> y)
    {
        int offset = y.Count - x.Count;
        var kept = new List<long>();
        for (int i = offset; i < y.Count; i++)
        {
            Dim xd = x[i - offset], yd = y[i];
            if (xd.SameAs(yd) || xd.IsStatic && !xd.IsOne)
                continue; // equal, or x's size is a number > 1 so the output's must be the same
            if (xd.IsOne)
            {
                if (!yd.IsOne)
                    kept.Add(i);
                continue;
            }
            if (yd.IsOne)
                continue; // x broadcasts to 1, so it is 1
            return null;
        }
        return (Enumerable.Range(0, offset).Select(i => (long)i).ToArray(), kept.ToArray());
    }

    // ReduceSum(grad, axes where padded Shape(x) differs from Shape(grad), keepdims=1, noop_with_empty_axes=1),
    // then Reshape to Shape(x).
    string RuntimeSumToShape(string grad, int? gradRank, string target)
    {
        if (Opset < 13)
            throw new DifferentiationException(
                $"cannot differentiate {_forward?.OpType} node '{_forward?.Name}': the gradient of its input '{target}' must be summed over " +
                $"broadcast axes, but the shapes are not known statically and opset {Opset} has no ReduceSum with run-time axes. " +
                "Declare static or named dims for the graph's inputs (or value_info), or use opset 13 or newer.");
        string xShape = ShapeOf(target);
        string gShape = Op("Shape", [grad]);
        string padded = xShape;
        if (Facts[target].Rank is int xRank && gradRank is int gRank)
        {
            if (gRank > xRank)
                padded = Concat([Int64s(Enumerable.Repeat(1L, gRank - xRank).ToArray()), xShape], 0);
        }
        else
        {
            string missing = Sub(Op("Size", [gShape]), Op("Size", [xShape]));
            string ones = Filled(Unsqueeze(missing, [0]), 1, (int)DataType.Int64);
            padded = Concat([ones, xShape], 0);
        }
        string differs = Op("Not", [Op("Equal", [padded, gShape])]);
        string axes = Reshape(Op("NonZero", [differs]), Int64s(-1));
        string reduced = Op("ReduceSum", [grad, axes], Attr.Int("keepdims", 1), Attr.Int("noop_with_empty_axes", 1));
        return Reshape(reduced, xShape);
    }

    string Memo(string key, Func<string> make)
    {
        if (!_memo.TryGetValue(key, out var name))
        {
            name = make();
            _memo[key] = name;
        }
        return name;
    }
}
