namespace VbLoraOrt.Contracts.Artifacts;

/// <summary>How a linear layer's constant weight is laid out in the graph.</summary>
public enum WeightLayout
{
    /// <summary><c>[in, out]</c>: a MatMul initializer (PyTorch export of <c>Linear.weight.T</c>) or Gemm with transB=0.</summary>
    InOut,

    /// <summary><c>[out, in]</c>: a Gemm with transB=1, the PyTorch <c>Linear.weight</c> layout as is.</summary>
    OutIn,
}

/// <summary>How a module path was recovered.</summary>
public enum PathSource
{
    /// <summary>From a scope-path node name (<c>/encoder/layer.0/attention/self/query/MatMul</c>), newer exporters.</summary>
    NodeScope,

    /// <summary>From the weight initializer's own name (<c>encoder.layer.0.attention.self.query.weight</c>).</summary>
    WeightName,

    /// <summary>Inferred from the bias initializer the following Add consumes (older exports with numeric weight names).</summary>
    BiasName,

    /// <summary>No name anywhere: a synthetic path from the node's name.</summary>
    NodeName,
}

/// <summary>
/// One linear layer of an exported model: <c>y = x·W (+ bias)</c> with a constant 2-D weight initializer.
/// </summary>
/// <param name="Path">PyTorch module path, e.g. <c>encoder.layer.0.attention.self.query</c>.</param>
/// <param name="PathSource">Where <paramref name="Path"/> came from.</param>
/// <param name="NodeName">The MatMul or Gemm node.</param>
/// <param name="OpType"><c>MatMul</c> or <c>Gemm</c>.</param>
/// <param name="InFeatures">Input features.</param>
/// <param name="OutFeatures">Output features.</param>
/// <param name="WeightName">The weight initializer.</param>
/// <param name="Layout">The weight's layout.</param>
/// <param name="BiasName">The bias initializer (Gemm's C, or the Add after a MatMul), if any.</param>
/// <param name="InputName">The activation the layer reads.</param>
/// <param name="OutputName">The layer's result value: after the bias Add when there is one.</param>
public sealed record LinearModule(
    string Path,
    PathSource PathSource,
    string NodeName,
    string OpType,
    int InFeatures,
    int OutFeatures,
    string WeightName,
    WeightLayout Layout,
    string? BiasName,
    string InputName,
    string OutputName)
{
    /// <summary>True when the path was not written in the graph by the exporter but inferred by us.</summary>
    public bool PathInferred => PathSource is PathSource.BiasName or PathSource.NodeName;
}
