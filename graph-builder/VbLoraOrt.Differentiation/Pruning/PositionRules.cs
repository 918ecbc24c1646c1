using Onnx;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Pruning;

/// <summary>How a node recomputed for one position uses one of its inputs.</summary>
internal enum InputUseKind
{
    /// <summary>The input as it is (weights, biases, broadcast operands, axes).</summary>
    Whole,

    /// <summary>Only the selected row of the input, along <see cref="InputUse.Axis"/>.</summary>
    Position,

    /// <summary>A new constant replaces the input (a reshape target with the position axis set to 1).</summary>
    Replace,
}

/// <summary>One input of a node recomputed for one position.</summary>
internal readonly record struct InputUse(InputUseKind Kind, int Axis = -1, long[]? Replacement = null)
{
    public static InputUse Whole { get; } = new(InputUseKind.Whole);

    public static InputUse Row(int axis) => new(InputUseKind.Position, axis);
}

/// <summary>
/// Per-op rules of <see cref="PositionPruning"/>: when every output of a node is needed at one index of one axis,
/// can the node compute just that row from rows of its inputs, and which rows? A rule answers only for ops that
/// compute each index of that axis independently of the others (elementwise maths, products over other axes,
/// normalisations and reductions over other axes, layout ops that carry the axis along); anything else, or any
/// shape it cannot prove, answers null and the node is computed whole.
/// </summary>
internal sealed class PositionRules(ShapeFacts facts, GraphConstants constants, long opset)
{
    static readonly HashSet<string> Unary = new(StringComparer.Ordinal)
    {
        "Identity", "Neg", "Abs", "Sqrt", "Exp", "Log", "Tanh", "Sigmoid", "Erf", "Relu", "Reciprocal", "Cast",
        "Softplus", "Sin", "Cos", "Floor", "Ceil", "Round", "Sign", "Not", "Gelu", "Clip", "LeakyRelu", "Elu",
        "HardSigmoid", "IsNaN", "IsInf",
    };

    static readonly HashSet<string> Broadcasting = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Mod", "Where", "Equal", "Less", "Greater",
        "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "PRelu",
    };

    static readonly HashSet<string> Reductions = new(StringComparer.Ordinal)
    {
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2",
        "ReduceLogSum", "ReduceLogSumExp",
    };

    /// <summary>
    /// The inputs <paramref name="node"/> needs to produce only one row of its outputs, or null when it cannot.
    /// </summary>
    /// <param name="node">A default-domain node.</param>
    /// <param name="outputAxes">Per output, the axis of the selected row, or -1 for an output nothing reads.</param>
    public InputUse[]? Plan(NodeProto node, IReadOnlyList<int> outputAxes)
    {
        if (node.Domain is not ("" or "ai.onnx") || outputAxes.Count == 0 || outputAxes[0] < 0)
            return null;
        int a = outputAxes[0];
        // Every read output must select along the same axis; only LayerNormalization has several such outputs.
        if (outputAxes.Skip(1).Any(x => x >= 0 && (x != a || node.OpType != "LayerNormalization")))
            return null;
        string op = node.OpType;
        if (Unary.Contains(op))
            return node.Input.Select((_, i) => i == 0 ? InputUse.Row(a) : InputUse.Whole).ToArray();
        if (Broadcasting.Contains(op))
            return BroadcastOperands(node, node.Input, a);
        return op switch
        {
            "MatMul" => MatMul(node, a),
            "Softmax" or "LogSoftmax" or "Hardmax" => Softmax(node, a),
            "LayerNormalization" => LayerNormalization(node, a),
            "Transpose" => Transpose(node, a),
            "Reshape" => Reshape(node, a),
            "Unsqueeze" => Unsqueeze(node, a),
            "Squeeze" => Squeeze(node, a),
            "Gather" => Gather(node, a),
            "Concat" => Concat(node, a),
            "Slice" => Slice(node, a),
            _ when Reductions.Contains(op) => Reduce(node, a),
            _ => null,
        };
    }

    int? Rank(string value) => value.Length == 0 ? null : facts[value].Rank;

    IReadOnlyList<Dim>? Shape(string value) => value.Length == 0 ? null : facts[value].Shape;

    static int Normalize(long axis, int rank) => (int)(axis < 0 ? axis + rank : axis);

    // Numpy broadcasting: an operand whose aligned dim is absent or 1 is read whole; one that spans the axis gives its row.
    InputUse[]? BroadcastOperands(NodeProto node, IEnumerable<string> operands, int a)
    {
        if (Shape(node.Output[0]) is not { } output || a >= output.Count)
            return null;
        var uses = new List<InputUse>();
        foreach (string operand in operands)
        {
            if (Shape(operand) is not { } shape)
                return null;
            int k = a - (output.Count - shape.Count);
            if (k < 0 || shape[k].IsOne)
                uses.Add(InputUse.Whole);
            else if (shape[k].SameAs(output[a]))
                uses.Add(InputUse.Row(k));
            else
                return null;
        }
        return uses.ToArray();
    }

    InputUse[]? MatMul(NodeProto node, int a)
    {
        if (Rank(node.Input[0]) is not (>= 2 and var ra) || Rank(node.Input[1]) is not (>= 2 and var rb)
            || Rank(node.Output[0]) is not { } r)
            return null;
        if (a == r - 2)
            return [InputUse.Row(ra - 2), InputUse.Whole];
        if (a == r - 1)
            return [InputUse.Whole, InputUse.Row(rb - 1)];
        // A batch axis: each operand's batch dims broadcast like an elementwise op's.
        var output = Shape(node.Output[0])!;
        var uses = new InputUse[2];
        for (int i = 0; i < 2; i++)
        {
            var shape = Shape(node.Input[i])!;
            int k = a - (r - shape.Count);
            if (k < 0 || shape[k].IsOne)
                uses[i] = InputUse.Whole;
            else if (shape[k].SameAs(output[a]))
                uses[i] = InputUse.Row(k);
            else
                return null;
        }
        return uses;
    }

    InputUse[]? Softmax(NodeProto node, int a)
    {
        if (Rank(node.Input[0]) is not { } r)
            return null;
        int axis = Normalize(Attr.GetInt(node, "axis", opset >= 13 ? -1 : 1), r);
        // Before opset 13 the op normalises over every axis from `axis` on (the input is flattened there).
        bool independent = opset >= 13 ? a != axis : a < axis;
        return independent ? [InputUse.Row(a)] : null;
    }

    InputUse[]? LayerNormalization(NodeProto node, int a)
    {
        if (Rank(node.Input[0]) is not { } r)
            return null;
        int axis = Normalize(Attr.GetInt(node, "axis", -1), r);
        return a < axis ? node.Input.Select((_, i) => i == 0 ? InputUse.Row(a) : InputUse.Whole).ToArray() : null;
    }

    InputUse[]? Transpose(NodeProto node, int a)
    {
        if (Rank(node.Input[0]) is not { } r)
            return null;
        long[] perm = Attr.GetInts(node, "perm") ?? Enumerable.Range(0, r).Reverse().Select(i => (long)i).ToArray();
        return a < perm.Length ? [InputUse.Row((int)perm[a])] : null;
    }

    // The position axis must keep its index and every dim up to it must pass through unchanged; the target then
    // becomes a constant: 1 on the position axis, numbers where known, 0 ("copy the input's dim") where the dim
    // is the input's own, and at most one -1.
    InputUse[]? Reshape(NodeProto node, int a)
    {
        if (Shape(node.Input[0]) is not { } input || Shape(node.Output[0]) is not { } output
            || a >= input.Count || Attr.GetInt(node, "allowzero", 0) != 0)
            return null;
        for (int j = 0; j <= a; j++)
            if (!input[j].SameAs(output[j]))
                return null;
        var target = new long[output.Count];
        int inferred = 0;
        for (int j = 0; j < output.Count; j++)
        {
            if (j == a)
                target[j] = 1;
            else if (output[j].Value is long size && size > 0)
                target[j] = size;
            else if (j < input.Count && output[j].SameAs(input[j]))
                target[j] = 0;
            else
            {
                target[j] = -1;
                inferred++;
            }
        }
        return inferred <= 1 ? [InputUse.Row(a), new InputUse(InputUseKind.Replace, Replacement: target)] : null;
    }

    long[]? AxesOf(NodeProto node, long inputSinceOpset) =>
        opset < inputSinceOpset
            ? Attr.GetInts(node, "axes")
            : node.Input.Count > 1 && node.Input[1].Length > 0 ? constants.Integers(node.Input[1]) : null;

    InputUse[]? Unsqueeze(NodeProto node, int a)
    {
        if (AxesOf(node, 13) is not { } axes || Rank(node.Output[0]) is not { } r)
            return null;
        var added = axes.Select(x => Normalize(x, r)).ToHashSet();
        return added.Contains(a) ? null : WithRest(node, InputUse.Row(a - added.Count(x => x < a)));
    }

    InputUse[]? Squeeze(NodeProto node, int a)
    {
        if (AxesOf(node, 13) is not { } axes || Rank(node.Input[0]) is not { } r)
            return null; // without axes the position axis, now of size 1, would be squeezed too
        var removed = axes.Select(x => Normalize(x, r)).ToHashSet();
        var kept = Enumerable.Range(0, r).Where(i => !removed.Contains(i)).ToArray();
        return a < kept.Length ? WithRest(node, InputUse.Row(kept[a])) : null;
    }

    InputUse[]? Gather(NodeProto node, int a)
    {
        if (Rank(node.Input[0]) is not { } rd || Rank(node.Input[1]) is not { } ri)
            return null;
        int g = Normalize(Attr.GetInt(node, "axis", 0), rd);
        if (a < g)
            return [InputUse.Row(a), InputUse.Whole];
        if (a >= g + ri)
            return [InputUse.Row(a - ri + 1), InputUse.Whole];
        return [InputUse.Whole, InputUse.Row(a - g)]; // the axis comes from the indices (token ids → embeddings)
    }

    InputUse[]? Concat(NodeProto node, int a)
    {
        if (Rank(node.Output[0]) is not { } r || node.Input.Any(i => Rank(i) != r))
            return null;
        return Normalize(Attr.GetInt(node, "axis", 0), r) == a ? null : node.Input.Select(_ => InputUse.Row(a)).ToArray();
    }

    InputUse[]? Slice(NodeProto node, int a)
    {
        if (Rank(node.Input[0]) is not { } r)
            return null;
        long[]? axes;
        if (opset < 10)
            axes = Attr.GetInts(node, "axes") ?? (Attr.GetInts(node, "starts") is { } s ? Enumerable.Range(0, s.Length).Select(i => (long)i).ToArray() : null);
        else if (node.Input.Count > 3 && node.Input[3].Length > 0)
            axes = constants.Integers(node.Input[3]);
        else
            axes = constants.Integers(node.Input[1]) is { } starts ? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray() : null;
        if (axes == null || axes.Any(x => Normalize(x, r) == a))
            return null;
        return WithRest(node, InputUse.Row(a));
    }

    InputUse[]? Reduce(NodeProto node, int a)
    {
        if (Rank(node.Input[0]) is not { } r)
            return null;
        long[]? axes = AxesOf(node, node.OpType == "ReduceSum" ? 13 : 18);
        if (axes is not { Length: > 0 })
            return null; // reduces every axis (or none): not worth a rule
        var reduced = axes.Select(x => Normalize(x, r)).ToHashSet();
        int k;
        if (Attr.GetInt(node, "keepdims", 1) != 0)
            k = a;
        else
        {
            var kept = Enumerable.Range(0, r).Where(i => !reduced.Contains(i)).ToArray();
            if (a >= kept.Length)
                return null;
            k = kept[a];
        }
        return reduced.Contains(k) ? null : WithRest(node, InputUse.Row(k));
    }

    // The first input gives the row; every other input (axes, starts, bounds) is read whole.
    static InputUse[] WithRest(NodeProto node, InputUse first) =>
        node.Input.Select((_, i) => i == 0 ? first : InputUse.Whole).ToArray();
}
