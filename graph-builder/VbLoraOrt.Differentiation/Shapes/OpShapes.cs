using DataType = Onnx.TensorProto.Types.DataType;
using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Shapes;

/// <summary>Per-op inference rules of <see cref="ShapeInference"/>: facts of a node's outputs from its inputs'.</summary>
internal sealed class OpShapes(ShapeFacts facts, GraphConstants constants, long opset)
{
    /// <summary>Integer tensors up to this many elements keep their contents.</summary>
    public const int MaxContent = 64;

    const int Int64 = (int)DataType.Int64;
    const int Bool = (int)DataType.Bool;

    public TensorFacts[] Infer(NodeProto node)
    {
        TensorFacts In(int i) => i < node.Input.Count && node.Input[i].Length > 0 ? facts[node.Input[i]] : TensorFacts.Unknown;
        TensorFacts x = In(0);
        switch (node.OpType)
        {
            case "Constant":
                return constants.Tensor(node.Output[0]) is { } t
                    ? [ShapeInference.FromTensor(t, constants.Integers(node.Output[0]))]
                    : [];
            case "Identity": case "Neg": case "Sqrt": case "Erf": case "Tanh": case "Exp": case "Log": case "Sigmoid":
            case "Relu": case "Abs": case "Reciprocal": case "Softmax": case "LogSoftmax": case "Trilu": case "Dropout":
            case "Floor": case "Ceil": case "Round": case "Sign": case "Clip": case "Gelu": case "Sin": case "Cos":
                return [x with { Content = node.OpType is "Identity" or "Neg" or "Abs" ? x.Content : null }, TensorFacts.Unknown];
            case "Add": case "Sub": case "Mul": case "Div": case "Pow": case "Max": case "Min": case "Sum": case "Mod":
                return [Elementwise(node, node.Input.Select(n => facts[n]).ToArray())];
            case "Equal": case "Less": case "Greater": case "LessOrEqual": case "GreaterOrEqual": case "And": case "Or": case "Xor":
                return [new TensorFacts(Bool, Broadcast(node.Input.Select(n => facts[n].Shape)))];
            case "Not":
                return [new TensorFacts(Bool, x.Shape)];
            case "Where":
                return [new TensorFacts(In(1).ElemType != 0 ? In(1).ElemType : In(2).ElemType,
                    Broadcast([In(0).Shape, In(1).Shape, In(2).Shape]))];
            case "Cast":
                {
                    int to = (int)Attr.GetInt(node, "to", 0);
                    return [new TensorFacts(to, x.Shape, IsInteger(to) ? x.Content : null)];
                }
            case "Shape":
                return [ShapeOf(node, x)];
            case "Size":
                return [new TensorFacts(Int64, [], x.IsStaticShape ? [Dim.Of(x.StaticElementCount()!.Value)] : null)];
            case "MatMul":
                return [MatMul(x, In(1))];
            case "Gemm":
                return [Gemm(node, x, In(1))];
            case "Transpose":
                return [Transpose(node, x)];
            case "Reshape":
                return [Reshape(node, x, In(1))];
            case "Flatten":
                return [Flatten(node, x)];
            case "Unsqueeze":
                return [Unsqueeze(x, Axes(node, 1, "axes", 13))];
            case "Squeeze":
                return [Squeeze(x, Axes(node, 1, "axes", 13))];
            case "Concat":
                return [Concat(node, node.Input.Select(n => facts[n]).ToArray())];
            case "Gather":
                return [Gather(node, x, In(1))];
            case "GatherElements":
                return [new TensorFacts(x.ElemType, In(1).Shape)];
            case "ScatterElements": case "ScatterND":
                return [x with { Content = null }];
            case "Slice":
                return [Slice(node, x)];
            case "Expand":
                return [new TensorFacts(x.ElemType, Broadcast([x.Shape, In(1).Content]))];
            case "ConstantOfShape":
                {
                    var value = Attr.Find(node, "value")?.T;
                    int type = value?.DataType ?? (int)DataType.Float;
                    return [new TensorFacts(type, In(0).Content)];
                }
            case "Range":
                return [Range(x, In(1), In(2))];
            case "ReduceMean": case "ReduceSum": case "ReduceMax": case "ReduceMin": case "ReduceProd":
            case "ReduceL2": case "ReduceSumSquare": case "ReduceLogSumExp":
                return [Reduce(node, x)];
            case "ArgMax": case "ArgMin":
                {
                    long axis = Attr.GetInt(node, "axis", 0);
                    var reduced = Reduce(x.Shape, [axis], Attr.GetInt(node, "keepdims", 1) != 0);
                    return [new TensorFacts(Int64, reduced)];
                }
            case "TopK":
                return TopK(node, x, In(1));
            case "Split":
                return Split(node, x);
            case "LayerNormalization":
                return LayerNormalization(node, x);
            case "NonZero":
                return [new TensorFacts(Int64, x.Rank is int r ? [Dim.Of(r), Dim.Unknown] : null)];
            default:
                return [];
        }
    }

    static bool IsInteger(int type) => (DataType)type is DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8
        or DataType.Uint64 or DataType.Uint32 or DataType.Uint16 or DataType.Uint8;

    /// <summary>Multidirectional (numpy) broadcasting of shapes; null when any rank is unknown.</summary>
    public static IReadOnlyList<Dim>? Broadcast(IEnumerable<IReadOnlyList<Dim>?> shapes)
    {
        var list = shapes.ToList();
        if (list.Any(s => s == null))
            return null;
        int rank = list.Max(s => s!.Count);
        var result = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            Dim? acc = null;
            foreach (var s in list)
            {
                int j = i - (rank - s!.Count);
                if (j < 0)
                    continue;
                var d = s[j];
                acc = acc is not { } a ? d
                    : a.IsOne ? d
                    : d.IsOne || a.SameAs(d) ? a
                    : a.IsStatic ? a   // a valid broadcast makes the other side 1 or the same number
                    : d.IsStatic ? d
                    : Dim.Unknown;
            }
            result[i] = acc ?? Dim.Of(1);
        }
        return result;
    }

    TensorFacts Elementwise(NodeProto node, TensorFacts[] inputs)
    {
        int type = inputs.Select(f => f.ElemType).FirstOrDefault(t => t != 0);
        if (node.OpType == "Pow" || node.OpType == "Mod" && inputs.Length > 0)
            type = inputs[0].ElemType;
        var shape = Broadcast(inputs.Select(f => f.Shape));
        IReadOnlyList<Dim>? content = null;
        if (inputs.Length == 2 && IsInteger(type) && inputs[0].StaticContent() is { } a && inputs[1].StaticContent() is { } b
            && (a.Length == b.Length || a.Length == 1 || b.Length == 1) && shape is { Count: <= 1 })
        {
            int n = Math.Max(a.Length, b.Length);
            content = Enumerable.Range(0, n).Select(i =>
            {
                long l = a[a.Length == 1 ? 0 : i], r = b[b.Length == 1 ? 0 : i];
                return Dim.Of(node.OpType switch
                {
                    "Add" => l + r, "Sub" => l - r, "Mul" => l * r,
                    "Div" => r == 0 ? throw new DivideByZeroException() : l / r,
                    "Max" => Math.Max(l, r), "Min" => Math.Min(l, r),
                    _ => throw new InvalidOperationException(),
                });
            }).ToArray();
        }
        else if (inputs.Length == 2 && IsInteger(type) && shape is { Count: <= 1 })
            content = Identity(node.OpType, inputs[0], inputs[1]);
        return new TensorFacts(type, shape, content);
    }

    // x + 0, x − 0, 0 + x, x · 1, 1 · x, x / 1 keep x's (symbolic) content.
    static IReadOnlyList<Dim>? Identity(string op, TensorFacts a, TensorFacts b)
    {
        static bool All(TensorFacts f, long v) => f.StaticContent() is { Length: > 0 } c && c.All(x => x == v);
        return op switch
        {
            "Add" when All(b, 0) => a.Content,
            "Add" when All(a, 0) => b.Content,
            "Sub" when All(b, 0) => a.Content,
            "Mul" when All(b, 1) => a.Content,
            "Mul" when All(a, 1) => b.Content,
            "Div" when All(b, 1) => a.Content,
            _ => null,
        } is { } content && content.Count == Math.Max(a.Content?.Count ?? 1, b.Content?.Count ?? 1) ? content : null;
    }

    static TensorFacts ShapeOf(NodeProto node, TensorFacts x)
    {
        if (x.Shape == null)
            return new TensorFacts(Int64, [Dim.Unknown]);
        int rank = x.Shape.Count;
        long start = Attr.GetInt(node, "start", 0), end = Attr.GetInt(node, "end", rank);
        int s = (int)Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        int e = (int)Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        var content = x.Shape.Skip(s).Take(Math.Max(0, e - s)).ToArray();
        return new TensorFacts(Int64, [Dim.Of(content.Length)], content);
    }

    static TensorFacts MatMul(TensorFacts a, TensorFacts b)
    {
        int type = a.ElemType != 0 ? a.ElemType : b.ElemType;
        if (a.Shape == null || b.Shape == null)
            return new TensorFacts(type, null);
        var sa = a.Shape.ToList();
        var sb = b.Shape.ToList();
        bool vectorA = sa.Count == 1, vectorB = sb.Count == 1;
        if (vectorA) sa.Insert(0, Dim.Of(1));
        if (vectorB) sb.Add(Dim.Of(1));
        var batch = Broadcast([sa.Take(sa.Count - 2).ToArray(), sb.Take(sb.Count - 2).ToArray()])!;
        var result = batch.ToList();
        if (!vectorA) result.Add(sa[^2]);
        if (!vectorB) result.Add(sb[^1]);
        return new TensorFacts(type, result);
    }

    static TensorFacts Gemm(NodeProto node, TensorFacts a, TensorFacts b)
    {
        int type = a.ElemType != 0 ? a.ElemType : b.ElemType;
        if (a.Shape is not { Count: 2 } || b.Shape is not { Count: 2 })
            return new TensorFacts(type, [Dim.Unknown, Dim.Unknown]);
        var m = Attr.GetInt(node, "transA", 0) != 0 ? a.Shape[1] : a.Shape[0];
        var n = Attr.GetInt(node, "transB", 0) != 0 ? b.Shape[0] : b.Shape[1];
        return new TensorFacts(type, [m, n]);
    }

    static TensorFacts Transpose(NodeProto node, TensorFacts x)
    {
        if (x.Shape == null)
            return new TensorFacts(x.ElemType, null);
        long[] perm = Attr.GetInts(node, "perm") ?? Enumerable.Range(0, x.Shape.Count).Reverse().Select(i => (long)i).ToArray();
        return new TensorFacts(x.ElemType, perm.Select(p => x.Shape[(int)p]).ToArray());
    }

    static TensorFacts Reshape(NodeProto node, TensorFacts x, TensorFacts target)
    {
        var content = target.Content;
        if (content == null)
            return new TensorFacts(x.ElemType, target.Shape is [{ Value: long n }] ? Enumerable.Repeat(Dim.Unknown, (int)n).ToArray() : null);
        bool allowZero = Attr.GetInt(node, "allowzero", 0) != 0;
        var dims = new Dim[content.Count];
        int inferIndex = -1;
        for (int i = 0; i < dims.Length; i++)
        {
            var d = content[i];
            if (d.Value == 0 && !allowZero)
                dims[i] = x.Shape != null && i < x.Shape.Count ? x.Shape[i] : Dim.Unknown;
            else if (d.Value == -1)
                inferIndex = i;
            else
                dims[i] = d;
        }
        if (inferIndex >= 0)
            dims[inferIndex] = x.Shape == null ? Dim.Unknown : Quotient(x.Shape, dims.Where((_, i) => i != inferIndex));
        return new TensorFacts(x.ElemType, dims, x.Shape is { Count: <= 1 } && dims.Length <= 1 ? x.Content : null);
    }

    /// <summary>prod(numerator) / prod(denominator) with matching symbols cancelled; unknown when not exact.</summary>
    static Dim Quotient(IEnumerable<Dim> numerator, IEnumerable<Dim> denominator)
    {
        var num = numerator.ToList();
        var den = denominator.ToList();
        if (num.Any(d => !d.IsStatic && d.Symbol == null) || den.Any(d => !d.IsStatic && d.Symbol == null))
            return Dim.Unknown;
        foreach (var d in den.Where(d => d.Symbol != null).ToList())
        {
            int k = num.FindIndex(n => n.Symbol == d.Symbol);
            if (k < 0)
                return Dim.Unknown;
            num.RemoveAt(k);
            den.Remove(d);
        }
        long numStatic = num.Where(d => d.IsStatic).Aggregate(1L, (a, d) => a * d.Value!.Value);
        long denStatic = den.Aggregate(1L, (a, d) => a * d.Value!.Value);
        var symbols = num.Where(d => d.Symbol != null).ToList();
        if (denStatic == 0 || numStatic % denStatic != 0)
            return Dim.Unknown;
        long ratio = numStatic / denStatic;
        return symbols.Count switch
        {
            0 => Dim.Of(ratio),
            1 when ratio == 1 => symbols[0],
            _ => Dim.Unknown,
        };
    }

    static TensorFacts Flatten(NodeProto node, TensorFacts x)
    {
        if (x.Shape == null)
            return new TensorFacts(x.ElemType, [Dim.Unknown, Dim.Unknown]);
        long axis = Attr.GetInt(node, "axis", 1);
        int a = (int)(axis < 0 ? axis + x.Shape.Count : axis);
        return new TensorFacts(x.ElemType, [Product(x.Shape.Take(a)), Product(x.Shape.Skip(a))]);
    }

    static Dim Product(IEnumerable<Dim> dims)
    {
        var list = dims.ToList();
        if (list.All(d => d.IsStatic))
            return Dim.Of(list.Aggregate(1L, (a, d) => a * d.Value!.Value));
        var nonOne = list.Where(d => !d.IsOne).ToList();
        return nonOne.Count == 1 ? nonOne[0] : Dim.Unknown;
    }

    /// <summary>Axes from an attribute (before <paramref name="inputSinceOpset"/>) or a constant input.</summary>
    long[]? Axes(NodeProto node, int inputIndex, string attribute, long inputSinceOpset) =>
        opset < inputSinceOpset
            ? Attr.GetInts(node, attribute)
            : inputIndex < node.Input.Count && node.Input[inputIndex].Length > 0 ? facts[node.Input[inputIndex]].StaticContent() : null;

    static TensorFacts Unsqueeze(TensorFacts x, long[]? axes)
    {
        if (x.Shape == null || axes == null)
            return new TensorFacts(x.ElemType, null);
        int rank = x.Shape.Count + axes.Length;
        var normalized = axes.Select(a => a < 0 ? a + rank : a).ToHashSet();
        var dims = new Dim[rank];
        int k = 0;
        for (int i = 0; i < rank; i++)
            dims[i] = normalized.Contains(i) ? Dim.Of(1) : x.Shape[k++];
        return new TensorFacts(x.ElemType, dims, x.Content != null && rank <= 1 ? x.Content : null);
    }

    static TensorFacts Squeeze(TensorFacts x, long[]? axes)
    {
        if (x.Shape == null)
            return new TensorFacts(x.ElemType, null);
        int rank = x.Shape.Count;
        if (axes == null)
            return x.Shape.All(d => d.IsStatic)
                ? new TensorFacts(x.ElemType, x.Shape.Where(d => !d.IsOne).ToArray())
                : new TensorFacts(x.ElemType, null);
        var normalized = axes.Select(a => a < 0 ? a + rank : a).ToHashSet();
        var dims = x.Shape.Where((_, i) => !normalized.Contains(i)).ToArray();
        return new TensorFacts(x.ElemType, dims, x.Content != null && dims.Length <= 1 ? x.Content : null);
    }

    static TensorFacts Concat(NodeProto node, TensorFacts[] inputs)
    {
        int type = inputs.Select(f => f.ElemType).FirstOrDefault(t => t != 0);
        if (inputs.Any(f => f.Shape == null))
            return new TensorFacts(type, inputs.FirstOrDefault(f => f.Shape != null)?.Shape is { } s ? Enumerable.Repeat(Dim.Unknown, s.Count).ToArray() : null);
        int rank = inputs[0].Shape!.Count;
        long axis = Attr.GetInt(node, "axis", 0);
        int a = (int)(axis < 0 ? axis + rank : axis);
        var dims = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            if (i == a)
            {
                var parts = inputs.Select(f => f.Shape![i]).ToList();
                dims[i] = parts.All(d => d.IsStatic) ? Dim.Of(parts.Sum(d => d.Value!.Value))
                    : parts.Count(d => !d.Value.Equals(0L)) == 1 ? parts.First(d => !d.Value.Equals(0L)) : Dim.Unknown;
            }
            else
            {
                var known = inputs.Select(f => f.Shape![i]).FirstOrDefault(d => d.IsStatic || d.Symbol != null);
                dims[i] = known;
            }
        }
        IReadOnlyList<Dim>? content = rank == 1 && inputs.All(f => f.Content != null)
            ? inputs.SelectMany(f => f.Content!).ToArray()
            : null;
        return new TensorFacts(type, dims, content);
    }

    static TensorFacts Gather(NodeProto node, TensorFacts data, TensorFacts indices)
    {
        if (data.Shape == null || indices.Shape == null)
            return new TensorFacts(data.ElemType, null);
        int rank = data.Shape.Count;
        long axis = Attr.GetInt(node, "axis", 0);
        int a = (int)(axis < 0 ? axis + rank : axis);
        var dims = data.Shape.Take(a).Concat(indices.Shape).Concat(data.Shape.Skip(a + 1)).ToArray();
        IReadOnlyList<Dim>? content = null;
        if (rank == 1 && data.Content != null && indices.StaticContent() is { } idx)
        {
            int n = data.Content.Count;
            content = idx.Select(i => data.Content[(int)(i < 0 ? i + n : i)]).ToArray();
        }
        return new TensorFacts(data.ElemType, dims, content);
    }

    TensorFacts Slice(NodeProto node, TensorFacts x)
    {
        if (x.Shape == null)
            return new TensorFacts(x.ElemType, null);
        long[]? Const(int i) => i < node.Input.Count && node.Input[i].Length > 0 ? facts[node.Input[i]].StaticContent() : null;
        long[]? starts = Const(1), ends = Const(2);
        var symbolicEnds = node.Input.Count > 2 ? facts[node.Input[2]].Content : null;
        long[]? axes = node.Input.Count > 3 && node.Input[3].Length > 0 ? Const(3) : Enumerable.Range(0, starts?.Length ?? 0).Select(i => (long)i).ToArray();
        long[]? steps = node.Input.Count > 4 && node.Input[4].Length > 0 ? Const(4) : starts?.Select(_ => 1L).ToArray();
        int rank = x.Shape.Count;
        if (starts != null && ends == null && symbolicEnds != null && axes != null && steps != null
            && symbolicEnds.Count == starts.Length && starts.All(v => v == 0) && steps.All(v => v == 1))
        {
            // x[0:n] with n a symbol (e.g. position ids sliced to the sequence length): the size is n.
            var sliced = x.Shape.ToArray();
            for (int k = 0; k < axes.Length; k++)
            {
                int a = (int)(axes[k] < 0 ? axes[k] + rank : axes[k]);
                var end = symbolicEnds[k];
                sliced[a] = end.Symbol != null ? end
                    : end.Value is long e && sliced[a].Value is long n ? Dim.Of(SliceRange(0, e, 1, n).Count)
                    : Dim.Unknown;
            }
            return new TensorFacts(x.ElemType, sliced);
        }
        if (starts == null || ends == null || axes == null || steps == null)
        {
            // Which axes change is unknown unless the axes are constant.
            if (axes == null || axes.Length == 0 && node.Input.Count > 3)
                return new TensorFacts(x.ElemType, Enumerable.Repeat(Dim.Unknown, rank).ToArray());
            var unknownAxes = axes.Select(v => (int)(v < 0 ? v + rank : v)).ToHashSet();
            return new TensorFacts(x.ElemType, x.Shape.Select((d, i) => unknownAxes.Contains(i) ? Dim.Unknown : d).ToArray());
        }
        var dims = x.Shape.ToArray();
        var content = x.Content?.ToList();
        for (int k = 0; k < axes.Length; k++)
        {
            int a = (int)(axes[k] < 0 ? axes[k] + rank : axes[k]);
            if (dims[a].Value is not long n)
            {
                dims[a] = Dim.Unknown;
                content = null;
                continue;
            }
            var (start, count) = SliceRange(starts[k], ends[k], steps[k], n);
            dims[a] = Dim.Of(count);
            if (content != null && rank == 1)
                content = Enumerable.Range(0, (int)count).Select(j => content[(int)(start + j * steps[k])]).ToList();
        }
        return new TensorFacts(x.ElemType, dims, content);
    }

    /// <summary>First index and element count of a Slice along an axis of size <paramref name="n"/>.</summary>
    public static (long Start, long Count) SliceRange(long start, long end, long step, long n)
    {
        if (step == 0)
            throw new ArgumentException("Slice step 0");
        start = start < 0 ? start + n : start;
        end = end < 0 ? end + n : end;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, n);
            end = Math.Clamp(end, 0, n);
            return (start, end > start ? (end - start + step - 1) / step : 0);
        }
        start = Math.Clamp(start, -1, n - 1);
        end = Math.Clamp(end, -1, n - 1);
        return (start, start > end ? (start - end + (-step) - 1) / (-step) : 0);
    }

    static TensorFacts Range(TensorFacts start, TensorFacts limit, TensorFacts delta)
    {
        if (start.StaticContent() is [long s] && limit.StaticContent() is [long l] && delta.StaticContent() is [long d] && d != 0)
        {
            long n = Math.Max(0, (l - s + d + (d > 0 ? -1 : 1)) / d);
            var content = n <= MaxContent ? Enumerable.Range(0, (int)n).Select(i => Dim.Of(s + i * d)).ToArray() : null;
            return new TensorFacts(start.ElemType, [Dim.Of(n)], content);
        }
        return new TensorFacts(start.ElemType, [Dim.Unknown]);
    }

    TensorFacts Reduce(NodeProto node, TensorFacts x)
    {
        long inputSince = node.OpType == "ReduceSum" ? 13 : 18;
        bool keep = Attr.GetInt(node, "keepdims", 1) != 0;
        long[]? axes = Axes(node, 1, "axes", inputSince);
        bool axesGiven = opset < inputSince ? Attr.Find(node, "axes") != null : node.Input.Count > 1 && node.Input[1].Length > 0;
        if (axesGiven && axes == null)
            return new TensorFacts(x.ElemType, keep && x.Rank is int r ? Enumerable.Repeat(Dim.Unknown, r).ToArray() : null);
        if (axes is not { Length: > 0 })
        {
            if (Attr.GetInt(node, "noop_with_empty_axes", 0) != 0)
                return x with { Content = null };
            axes = x.Rank is int r ? Enumerable.Range(0, r).Select(i => (long)i).ToArray() : null;
            if (axes == null)
                return new TensorFacts(x.ElemType, keep ? null : []);
        }
        return new TensorFacts(x.ElemType, Reduce(x.Shape, axes, keep));
    }

    static IReadOnlyList<Dim>? Reduce(IReadOnlyList<Dim>? shape, long[] axes, bool keep)
    {
        if (shape == null)
            return null;
        int rank = shape.Count;
        var set = axes.Select(a => a < 0 ? a + rank : a).ToHashSet();
        return keep
            ? shape.Select((d, i) => set.Contains(i) ? Dim.Of(1) : d).ToArray()
            : shape.Where((_, i) => !set.Contains(i)).ToArray();
    }

    TensorFacts[] TopK(NodeProto node, TensorFacts x, TensorFacts k)
    {
        long axis = Attr.GetInt(node, "axis", -1);
        IReadOnlyList<Dim>? dims = null;
        if (x.Shape != null)
        {
            int a = (int)(axis < 0 ? axis + x.Shape.Count : axis);
            var kDim = k.Content is [var kv] ? kv : Dim.Unknown;
            dims = x.Shape.Select((d, i) => i == a ? kDim : d).ToArray();
        }
        return [new TensorFacts(x.ElemType, dims), new TensorFacts(Int64, dims)];
    }

    TensorFacts[] Split(NodeProto node, TensorFacts x)
    {
        int outputs = node.Output.Count;
        if (x.Shape == null)
            return Enumerable.Repeat(new TensorFacts(x.ElemType, null), outputs).ToArray();
        int rank = x.Shape.Count;
        long axis = Attr.GetInt(node, "axis", 0);
        int a = (int)(axis < 0 ? axis + rank : axis);
        long[]? sizes = opset < 13 ? Attr.GetInts(node, "split")
            : node.Input.Count > 1 && node.Input[1].Length > 0 ? facts[node.Input[1]].StaticContent() : null;
        if (sizes == null && x.Shape[a].Value is long n && n % outputs == 0)
            sizes = Enumerable.Repeat(n / outputs, outputs).ToArray();
        return Enumerable.Range(0, outputs).Select(o => new TensorFacts(x.ElemType,
            x.Shape.Select((d, i) => i != a ? d : sizes != null && o < sizes.Length ? Dim.Of(sizes[o]) : Dim.Unknown).ToArray())).ToArray();
    }

    static TensorFacts[] LayerNormalization(NodeProto node, TensorFacts x)
    {
        long axis = Attr.GetInt(node, "axis", -1);
        int stash = (int)Attr.GetInt(node, "stash_type", 1);
        IReadOnlyList<Dim>? stats = null;
        if (x.Shape != null)
        {
            int a = (int)(axis < 0 ? axis + x.Shape.Count : axis);
            stats = x.Shape.Select((d, i) => i >= a ? Dim.Of(1) : d).ToArray();
        }
        return [x with { Content = null }, new TensorFacts(stash, stats), new TensorFacts(stash, stats)];
    }
}
