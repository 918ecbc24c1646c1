using Onnx;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Pruning;

/// <summary>What <see cref="PositionPruning.Apply"/> changed.</summary>
/// <param name="Selections">Selections of one position (<c>Gather</c> with a constant index) moved up the graph.</param>
/// <param name="RowNodes">Nodes now computed on one row instead of every position.</param>
/// <param name="Slices">Slices inserted where a whole value is still needed elsewhere.</param>
/// <param name="RemovedNodes">Nodes removed because nothing reads their outputs any more.</param>
public sealed record PositionPruningResult(int Selections, int RowNodes, int Slices, int RemovedNodes)
{
    /// <summary>True when the graph was changed.</summary>
    public bool Changed => RowNodes > 0;
}

/// <summary>
/// Computes only the positions a graph's outputs read. A classification head that pools the first token
/// (<c>Gather(hidden, 0, axis 1)</c>) needs from the last encoder layer only that token's row: everything after the
/// last op that mixes positions (attention's probabilities × values, whose values must stay whole) can run on one
/// row of the sequence instead of all of them — in a BERT-style encoder the last layer's query projection,
/// attention output, feed-forward block and layer norms. Differentiated afterwards, the backward shrinks with it.
/// </summary>
/// <remarks>
/// Two passes. Backwards over the graph, each value gets a demand: nothing, one row (index, axis), or whole. A node
/// whose read outputs are all demanded at one row and whose <see cref="PositionRules">rule</see> can compute that
/// row passes row demands to the inputs that span the axis and whole demands to the rest; any other node demands
/// its inputs whole. Forwards, such nodes are replaced by copies fed with rows: the row of a value computed only
/// as a row is that copy's output; the row of a value that is also needed whole is a <c>Slice</c> of it. The
/// selection itself then reads index 0 of the one-row value, and nodes nothing reads any more are removed. Every
/// rule is exact, so outputs are unchanged up to float rounding of the ops themselves.
/// </remarks>
public static class PositionPruning
{
    enum DemandKind { None, Row, Whole }

    readonly record struct Demand(DemandKind Kind, int Axis = -1, long Index = -1)
    {
        public static Demand Whole { get; } = new(DemandKind.Whole);

        public Demand With(Demand other) =>
            Kind == DemandKind.None ? other
            : other.Kind == DemandKind.None || other == this ? this
            : Whole; // whole wins; two different rows need the whole value too
    }

    /// <summary>Rewrites <paramref name="model"/>'s graph in place so its outputs read only the positions they need.</summary>
    public static PositionPruningResult Apply(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        // Subgraphs (If/Loop/Scan) read outer values invisibly to this analysis: leave such graphs alone.
        if (graph.Node.Any(n => n.Attribute.Any(a => a.Type is AttributeProto.Types.AttributeType.Graph or AttributeProto.Types.AttributeType.Graphs)))
            return new PositionPruningResult(0, 0, 0, 0);

        var constants = new GraphConstants(model);
        var facts = ShapeInference.Infer(model, constants);
        var rules = new PositionRules(facts, constants, model.Opset);

        // Pass 1, backwards: demands, selections, and the nodes that can compute one row.
        var demands = new Dictionary<string, Demand>(StringComparer.Ordinal);
        void Require(string value, Demand d)
        {
            if (value.Length > 0)
                demands[value] = demands.GetValueOrDefault(value).With(d);
        }
        foreach (var output in graph.Output)
            Require(output.Name, Demand.Whole);

        var selections = new Dictionary<NodeProto, (int Axis, long Index)>();
        var rowPlans = new Dictionary<NodeProto, (InputUse[] Uses, long Index)>();
        for (int n = graph.Node.Count - 1; n >= 0; n--)
        {
            var node = graph.Node[n];
            var outputs = node.Output.Select(o => o.Length == 0 ? default : demands.GetValueOrDefault(o)).ToArray();
            if (outputs.All(d => d.Kind == DemandKind.None))
                continue; // dead: asks nothing of its inputs
            if (outputs[0].Kind == DemandKind.Whole && Selection(node, constants, facts) is { } selection)
            {
                selections[node] = selection;
                Require(node.Input[0], new Demand(DemandKind.Row, selection.Axis, selection.Index));
                Require(node.Input[1], Demand.Whole);
                continue;
            }
            if (outputs.All(d => d.Kind != DemandKind.Whole)
                && outputs.Where(d => d.Kind == DemandKind.Row).Select(d => d.Index).Distinct().Count() == 1
                && rules.Plan(node, outputs.Select(d => d.Kind == DemandKind.Row ? d.Axis : -1).ToArray()) is { } uses)
            {
                long index = outputs.First(d => d.Kind == DemandKind.Row).Index;
                rowPlans[node] = (uses, index);
                for (int i = 0; i < node.Input.Count; i++)
                {
                    if (uses[i].Kind == InputUseKind.Position)
                        Require(node.Input[i], new Demand(DemandKind.Row, uses[i].Axis, index));
                    else if (uses[i].Kind == InputUseKind.Whole)
                        Require(node.Input[i], Demand.Whole);
                }
                continue;
            }
            foreach (string input in node.Input)
                Require(input, Demand.Whole);
        }
        if (selections.Count == 0 || rowPlans.Count == 0)
            return new PositionPruningResult(0, 0, 0, 0);

        // Pass 2, forwards: row copies in place of the originals, slices where a whole value also lives on.
        var names = new UniqueNames(graph);
        var e = new GraphEmitter(graph, "rows", names);
        var rows = new Dictionary<(string Value, int Axis, long Index), string>();
        var rewritten = new List<NodeProto>(graph.Node.Count);
        int slices = 0;

        string Row(string value, int axis, long index)
        {
            if (rows.TryGetValue((value, axis, index), out string? row))
                return row;
            row = names.Fresh($"{value}/row{index}");
            var slice = new NodeProto { OpType = "Slice", Name = names.Fresh($"rows/Slice_{value}") };
            if (model.Opset >= 10)
            {
                slice.Input.Add(value);
                slice.Input.Add(e.Int64s("start", index));
                slice.Input.Add(e.Int64s("end", index + 1));
                slice.Input.Add(e.Int64s("axis", axis));
            }
            else
            {
                slice.Input.Add(value);
                slice.Attribute.Add(Attr.Ints("starts", index));
                slice.Attribute.Add(Attr.Ints("ends", index + 1));
                slice.Attribute.Add(Attr.Ints("axes", axis));
            }
            slice.Output.Add(row);
            rewritten.Add(slice);
            slices++;
            rows[(value, axis, index)] = row;
            return row;
        }

        foreach (var node in graph.Node)
        {
            if (rowPlans.TryGetValue(node, out var plan))
            {
                var copy = new NodeProto { OpType = node.OpType, Domain = node.Domain, Name = names.Fresh($"{node.Name}/row{plan.Index}") };
                copy.Attribute.AddRange(node.Attribute.Select(a => a.Clone()));
                for (int i = 0; i < node.Input.Count; i++)
                {
                    var use = plan.Uses[i];
                    copy.Input.Add(use.Kind switch
                    {
                        InputUseKind.Position => Row(node.Input[i], use.Axis, plan.Index),
                        InputUseKind.Replace => e.Int64s("row_shape", use.Replacement!),
                        _ => node.Input[i],
                    });
                }
                foreach (string output in node.Output)
                {
                    if (output.Length == 0)
                    {
                        copy.Output.Add("");
                        continue;
                    }
                    string row = names.Fresh($"{output}/row{plan.Index}");
                    copy.Output.Add(row);
                    if (demands.GetValueOrDefault(output) is { Kind: DemandKind.Row } d)
                        rows[(output, d.Axis, d.Index)] = row;
                }
                rewritten.Add(copy);
            }
            else if (selections.TryGetValue(node, out var selection) && rows.ContainsKey((node.Input[0], selection.Axis, selection.Index)))
            {
                // Same output, now read from the one-row value at index 0.
                var select = node.Clone();
                select.Input[0] = Row(node.Input[0], selection.Axis, selection.Index);
                int indexType = constants.Tensor(node.Input[1])!.DataType;
                select.Input[1] = e.Constant(Tensors.Scalar("", indexType, 0), "row_index");
                rewritten.Add(select);
            }
            else
                rewritten.Add(node);
        }
        graph.Node.Clear();
        graph.Node.Add(rewritten);
        int removed = UnusedNodes.Remove(graph);
        return new PositionPruningResult(selections.Count, rowPlans.Count, slices, removed);
    }

    // `Gather(x, i, axis)` with a constant scalar index i ≥ 0 on an axis of known rank: a selection of one position.
    static (int Axis, long Index)? Selection(NodeProto node, GraphConstants constants, ShapeFacts facts)
    {
        if (node.OpType != "Gather" || node.Domain is not ("" or "ai.onnx") || node.Input.Count != 2
            || constants.Tensor(node.Input[1]) is not { Dims.Count: 0 } || constants.Integers(node.Input[1]) is not [var index and >= 0]
            || facts[node.Input[0]].Rank is not { } rank)
            return null;
        long axis = Attr.GetInt(node, "axis", 0);
        return ((int)(axis < 0 ? axis + rank : axis), index);
    }
}
