using Onnx;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Support;

/// <summary>Small ONNX models written in the tests.</summary>
public static class TinyModels
{
    public static ModelProto NewModel(long opset = 13)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "vblora-tests", Graph = new GraphProto { Name = "tiny" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static ValueInfoProto Value(string name, int elemType, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s }
                                        : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } },
        };
    }

    public static ValueInfoProto FloatValue(string name, params object[] dims) => Value(name, (int)TensorProto.Types.DataType.Float, dims);

    public static NodeProto Node(string op, string[] inputs, string[] outputs, string? name = null, params AttributeProto[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = name ?? $"{op}_{outputs[0]}" };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attrs);
        return n;
    }

    public static float[] Random(int count, int seed, float scale = 1f)
    {
        var rng = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>
    /// x[batch,4] → MatMul W1[4,8] (+ b1) → Relu-free Tanh → MatMul W2[8,4] (+b2) → y. Two linear modules whose
    /// biases carry PyTorch-style names (<c>layer1.bias</c>, <c>layer2.bias</c>) while weights have numeric names.
    /// </summary>
    public static OnnxModel TwoLayerMlp(int inDim = 4, int hidden = 8, int outDim = 4)
    {
        var m = NewModel();
        var g = m.Graph;
        g.Input.Add(FloatValue("x", "batch", inDim));
        g.Output.Add(FloatValue("y", "batch", outDim));
        g.Initializer.Add(Tensors.Float("101", [inDim, hidden], Random(inDim * hidden, 1, 0.5f)));
        g.Initializer.Add(Tensors.Float("layer1.bias", [hidden], Random(hidden, 2, 0.1f)));
        g.Initializer.Add(Tensors.Float("102", [hidden, outDim], Random(hidden * outDim, 3, 0.5f)));
        g.Initializer.Add(Tensors.Float("layer2.bias", [outDim], Random(outDim, 4, 0.1f)));
        g.Node.Add(Node("MatMul", ["x", "101"], ["h0"], "MatMul_0"));
        g.Node.Add(Node("Add", ["layer1.bias", "h0"], ["h1"], "Add_1"));
        g.Node.Add(Node("Tanh", ["h1"], ["h2"], "Tanh_2"));
        g.Node.Add(Node("MatMul", ["h2", "102"], ["h3"], "MatMul_3"));
        g.Node.Add(Node("Add", ["h3", "layer2.bias"], ["y"], "Add_4"));
        return OnnxModel.FromProto(m);
    }
}
