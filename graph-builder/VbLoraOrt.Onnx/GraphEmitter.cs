using Onnx;

namespace VbLoraOrt.Onnx;

/// <summary>
/// Appends nodes and constants to a graph under fresh names. Blocks that build subgraphs (adapters, losses,
/// gradients, optimizers) take and return value names through one of these.
/// </summary>
public sealed class GraphEmitter
{
    /// <summary>Emits into <paramref name="graph"/>; <paramref name="scope"/> prefixes every generated name.</summary>
    public GraphEmitter(GraphProto graph, string scope, UniqueNames? names = null)
    {
        Graph = graph ?? throw new ArgumentNullException(nameof(graph));
        Scope = scope ?? throw new ArgumentNullException(nameof(scope));
        Names = names ?? new UniqueNames(graph);
    }

    /// <summary>The graph being extended.</summary>
    public GraphProto Graph { get; }

    /// <summary>Name prefix of everything emitted.</summary>
    public string Scope { get; }

    /// <summary>The shared name generator.</summary>
    public UniqueNames Names { get; }

    /// <summary>Nodes emitted so far, in order.</summary>
    public List<NodeProto> Emitted { get; } = [];

    /// <summary>An emitter sharing names and graph, with a nested scope.</summary>
    public GraphEmitter Nested(string scope) => new(Graph, $"{Scope}/{scope}", Names);

    /// <summary>Adds one node with one output; returns the output's name.</summary>
    public string Op(string opType, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
        OpMulti(opType, inputs, 1, attributes)[0];

    /// <summary>Adds one node with <paramref name="outputCount"/> outputs; returns their names.</summary>
    public string[] OpMulti(string opType, IEnumerable<string> inputs, int outputCount, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Names.Fresh($"{Scope}/{opType}") };
        node.Input.AddRange(inputs);
        for (int i = 0; i < outputCount; i++)
            node.Output.Add(Names.Fresh($"{Scope}/{opType}_out{(outputCount > 1 ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}"));
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        Emitted.Add(node);
        return node.Output.ToArray();
    }

    /// <summary>Adds a node whose outputs have given names (e.g. graph outputs).</summary>
    public NodeProto OpNamed(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Names.Fresh($"{Scope}/{opType}") };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        Emitted.Add(node);
        return node;
    }

    /// <summary>Adds a constant as an initializer under a fresh name; returns the name.</summary>
    public string Constant(TensorProto value, string hint = "const")
    {
        ArgumentNullException.ThrowIfNull(value);
        var copy = value.Clone();
        copy.Name = Names.Fresh($"{Scope}/{hint}");
        Graph.Initializer.Add(copy);
        return copy.Name;
    }

    /// <summary>A 1-D int64 constant (shapes, axes, starts/ends).</summary>
    public string Int64s(string hint, params long[] values) => Constant(Tensors.Int64Vector("", values), hint);

    /// <summary>A scalar constant of <paramref name="dataType"/>.</summary>
    public string Scalar(double value, int dataType = (int)TensorProto.Types.DataType.Float, string hint = "scalar") =>
        Constant(Tensors.Scalar("", dataType, value), hint);
}
