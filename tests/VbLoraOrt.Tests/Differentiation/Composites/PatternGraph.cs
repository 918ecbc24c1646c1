using DataType = Onnx.TensorProto.Types.DataType;
using Onnx;
using VbLoraOrt.Differentiation.Composites;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation.Composites;

/// <summary>A tiny float graph written in a test, to run a composite pattern's matcher on (every node counts as on the path).</summary>
internal sealed class PatternGraph
{
    readonly ModelProto _proto = TinyModels.NewModel();

    public PatternGraph Input(string name, params object[] dims)
    {
        _proto.Graph.Input.Add(TinyModels.FloatValue(name, dims));
        return this;
    }

    public PatternGraph Scalar(string name, double value)
    {
        _proto.Graph.Initializer.Add(Tensors.Scalar(name, (int)DataType.Float, value));
        return this;
    }

    /// <summary>A float constant matrix (a frozen weight) as an initializer.</summary>
    public PatternGraph Matrix(string name, int rows, int columns)
    {
        _proto.Graph.Initializer.Add(Tensors.Float(name, [rows, columns], new float[rows * columns]));
        return this;
    }

    public PatternGraph Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        _proto.Graph.Node.Add(TinyModels.Node(op, inputs, [output], $"{op}_{_proto.Graph.Node.Count}", attributes));
        return this;
    }

    /// <summary>Runs <paramref name="pattern"/> anchored at the node producing <paramref name="output"/>.</summary>
    public CompositeMatch Match(Func<NodeProto, PatternView, CompositeMatch> pattern, string output)
    {
        var model = OnnxModel.FromProto(_proto);
        var constants = new GraphConstants(model);
        var view = new PatternView(_proto.Graph.Node, constants, model.Opset, ShapeInference.Infer(model, constants));
        return pattern(_proto.Graph.Node.Single(n => n.Output.Contains(output)), view);
    }
}
