using Onnx;
using VbLoraOrt.Differentiation.Composites;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rewrites;

/// <summary>
/// Moves the exact GELU's <c>1/c</c> (torch exports <c>c = √2</c>) from the activations into the constant weight and
/// bias of the product before it: <c>h = x·W + b</c>, <c>z = h·(1 + erf(h / c))</c> becomes
/// <c>u = x·(W / c) + b / c</c>, <c>z = c·u·(1 + erf(u))</c>, with <c>c</c> folded into the constant scale that follows
/// (torch's <c>·½</c>) when there is one. ONNX Runtime folds <c>W / c</c> and <c>b / c</c> at load, so the training and
/// evaluation forward makes one pass fewer over the <c>[tokens, intermediate]</c> activations per layer, and the
/// backward reads <c>u</c> and <c>1 + erf(u)</c> as before (<see cref="GeluErfPattern"/>'s <c>c = 1</c> form).
/// The same function up to float rounding of the order (DESIGN.md §4.2, "GELU's 1/√2 in the weights").
/// </summary>
internal static class GeluPrescale
{
    /// <summary>Rewrites every match in <paramref name="graph"/>; returns how many GELUs it rewrote.</summary>
    public static int Apply(GraphProto graph, GraphConstants constants, long opset)
    {
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var view = new PatternView(graph.Node, constants, opset);
        // Matches never share a node (each covers its own product, Add, scale, Erf and Mul), so all are found first.
        var matches = graph.Node.Where(n => n.OpType == "Erf" && n.Domain is "" or "ai.onnx")
            .Select(erf => Match(erf, view, constants, outputs)).OfType<Matched>().ToList();
        var names = new UniqueNames(graph);
        foreach (var m in matches)
            Rewrite(graph, m, names);
        return matches.Count;
    }

    sealed record Matched(NodeProto Product, string Weight, NodeProto BiasAdd, string Bias, NodeProto Scale, double C,
        NodeProto Erf, NodeProto Multiply, NodeProto? After, string? AfterScalar, double AfterValue);

    static Matched? Match(NodeProto erf, PatternView view, GraphConstants constants, ISet<string> outputs)
    {
        // u = h / c (Div) or h · (1/c) (Mul), with c a nonzero scalar constant.
        if (view.Producer(erf.Input[0], "Div", "Mul") is not { } scale || scale.Input.Count != 2)
            return null;
        string divisor = scale.Input[1];
        if (view.Scalar(divisor) is not double factor || factor == 0 || view.IsConstant(scale.Input[0]))
            return null;
        double c = scale.OpType == "Div" ? factor : 1 / factor;
        string h = scale.Input[0];
        // h = x·W + b with W a 2-D constant and b a 1-D constant (either order in the Add).
        if (view.Producer(h, "Add") is not { } biasAdd)
            return null;
        int productSide = view.Producer(biasAdd.Input[0], "MatMul") != null ? 0 : view.Producer(biasAdd.Input[1], "MatMul") != null ? 1 : -1;
        if (productSide < 0)
            return null;
        var product = view.Producer(biasAdd.Input[productSide], "MatMul")!;
        string weight = product.Input[1], bias = biasAdd.Input[1 - productSide];
        if (constants.Tensor(weight) is not { Dims.Count: 2 } w || constants.Tensor(bias) is not { Dims: [var n] } || n != w.Dims[1]
            || w.DataType != (int)TensorProto.Types.DataType.Float)
            return null;
        // a = erf(u) + 1, z = h · a; h, u, erf(u) and a read by nothing else; none a graph output.
        if (view.Consumers(erf.Output[0]) is not [{ OpType: "Add" } plusOne] || plusOne.Input.Select(view.Scalar).All(v => v != 1))
            return null;
        if (view.Consumers(plusOne.Output[0]) is not [{ OpType: "Mul" } multiply] || !multiply.Input.Contains(h))
            return null;
        if (view.Consumers(h).Count != 2 || view.Consumers(scale.Output[0]).Count != 1 || view.Consumers(biasAdd.Input[productSide]).Count != 1)
            return null;
        if (new[] { h, scale.Output[0], erf.Output[0], plusOne.Output[0], biasAdd.Input[productSide] }.Any(outputs.Contains))
            return null;
        // torch's ·½ after the product, when z feeds only that: c is folded into it.
        var after = view.Consumers(multiply.Output[0]) is [{ OpType: "Mul" } only] && !outputs.Contains(multiply.Output[0]) ? only : null;
        string? afterScalar = after?.Input.FirstOrDefault(i => i != multiply.Output[0] && view.Scalar(i) != null);
        return new Matched(product, weight, biasAdd, bias, scale, c, erf, multiply, afterScalar == null ? null : after, afterScalar,
            afterScalar == null ? 0 : view.Scalar(afterScalar)!.Value);
    }

    static void Rewrite(GraphProto graph, Matched m, UniqueNames names)
    {
        string h = m.BiasAdd.Output[0], u = m.Scale.Output[0];
        // W / c and b / c as Div nodes of constants (folded by ONNX Runtime when the session loads), before the product.
        string cValue = names.Fresh($"{m.Erf.Name}/c");
        graph.Initializer.Add(Tensors.Float(cValue, [], [(float)m.C]));
        string scaledWeight = names.Fresh($"{m.Weight}/over_c"), scaledBias = names.Fresh($"{m.Bias}/over_c");
        int at = graph.Node.IndexOf(m.Product);
        graph.Node.Insert(at, new NodeProto { OpType = "Div", Name = names.Fresh($"{m.Erf.Name}/weight_over_c"), Input = { m.Weight, cValue }, Output = { scaledWeight } });
        graph.Node.Insert(at + 1, new NodeProto { OpType = "Div", Name = names.Fresh($"{m.Erf.Name}/bias_over_c"), Input = { m.Bias, cValue }, Output = { scaledBias } });
        m.Product.Input[1] = scaledWeight;
        int biasSide = m.BiasAdd.Input[0] == m.Bias ? 0 : 1;
        m.BiasAdd.Input[biasSide] = scaledBias;
        m.BiasAdd.Output[0] = u; // the Add now computes u; the scaling node goes
        graph.Node.Remove(m.Scale);
        m.Multiply.Input[m.Multiply.Input.IndexOf(h)] = u;
        if (m.After != null)
        {
            string folded = names.Fresh($"{m.Erf.Name}/scale_times_c");
            graph.Initializer.Add(Tensors.Float(folded, [], [(float)(m.AfterValue * m.C)]));
            m.After.Input[m.After.Input.IndexOf(m.AfterScalar!)] = folded;
        }
        else
        {
            string z = m.Multiply.Output[0], zOverC = names.Fresh($"{z}/over_c");
            m.Multiply.Output[0] = zOverC;
            graph.Node.Insert(graph.Node.IndexOf(m.Multiply) + 1,
                new NodeProto { OpType = "Mul", Name = names.Fresh($"{m.Erf.Name}/times_c"), Input = { zOverC, cValue }, Output = { z } });
        }
    }
}
