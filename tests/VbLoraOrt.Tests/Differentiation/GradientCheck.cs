using DataType = Onnx.TensorProto.Types.DataType;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Differentiation;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>
/// Finite-difference check of the backward pass of a tiny graph written in a test. The loss is
/// Σ_o Σ(o ⊙ r_o) over the listed outputs with fixed random r_o, so every output element gets a distinct
/// weight. The analytic gradient (forward + backward in ORT, all optimizations) is compared with central
/// differences of the forward model run in ORT, element by element.
/// </summary>
internal sealed class GradientCheck
{
    /// <summary>Tolerances: |analytic − numeric| ≤ Absolute + Relative·|numeric|.</summary>
    public sealed record Tolerance(double Step, double Absolute, double Relative)
    {
        /// <summary>float64 kernels: step 1e-6, error 1e-6 + 1e-5·|g|.</summary>
        public static Tolerance Double { get; } = new(1e-6, 1e-6, 1e-5);

        /// <summary>float32 kernels (e.g. Erf has no double kernel in ORT CPU): step 1e-2, error 2e-3 + 2e-2·|g|.</summary>
        public static Tolerance Float { get; } = new(1e-2, 2e-3, 2e-2);
    }

    sealed record Variable(string Name, int[] Shape, double[] Values, bool Trainable, ValueInfoProto Declared);

    readonly ModelProto _proto;
    readonly List<Variable> _variables = [];
    readonly Dictionary<string, Tensor<long>> _integerInputs = [];
    readonly List<string> _outputs = [];
    int _seed = 1;

    readonly bool _fusionShaped;

    /// <param name="opset">Default-domain opset of the model.</param>
    /// <param name="useDouble">Build the model in float64 (tight tolerances) instead of float32.</param>
    /// <param name="fusionShaped">Passed to <see cref="ReverseDifferentiator.Differentiate"/>.</param>
    public GradientCheck(long opset = 13, bool useDouble = true, bool fusionShaped = true)
    {
        _fusionShaped = fusionShaped;
        _proto = TinyModels.NewModel(opset);
        ElemType = useDouble ? (int)DataType.Double : (int)DataType.Float;
        Tolerances = useDouble ? Tolerance.Double : Tolerance.Float;
    }

    public int ElemType { get; }

    public Tolerance Tolerances { get; set; }

    public GraphProto Graph => _proto.Graph;

    /// <summary>The training model <see cref="Verify"/> built and ran (forward, loss, backward, gradient outputs).</summary>
    public OnnxModel? Training { get; private set; }

    /// <summary>
    /// A floating graph input of actual shape <paramref name="shape"/>; <paramref name="declared"/> gives its declared
    /// dims (numbers or symbols such as "batch"; null: the actual shape; empty array with unknownRank: no shape).
    /// </summary>
    public GradientCheck Input(string name, int[] shape, object[]? declared = null, bool trainable = true,
        double low = -1, double high = 1, bool unknownRank = false)
    {
        var rng = new Random(_seed++ * 7919);
        var values = Enumerable.Range(0, shape.Aggregate(1, (a, d) => a * d)).Select(_ => low + (high - low) * rng.NextDouble()).ToArray();
        return Input(name, shape, values, declared, trainable, unknownRank);
    }

    public GradientCheck Input(string name, int[] shape, double[] values, object[]? declared = null, bool trainable = true, bool unknownRank = false)
    {
        var info = unknownRank
            ? AnyShape(name, ElemType)
            : TinyModels.Value(name, ElemType, declared ?? shape.Cast<object>().ToArray());
        _variables.Add(new Variable(name, shape, values, trainable, info));
        Graph.Input.Add(info);
        return this;
    }

    /// <summary>An int64 graph input (indices computed at run time, as far as the graph knows).</summary>
    public GradientCheck IntInput(string name, int[] shape, long[] values, object[]? declared = null)
    {
        Graph.Input.Add(TinyModels.Value(name, (int)DataType.Int64, declared ?? shape.Cast<object>().ToArray()));
        _integerInputs[name] = new DenseTensor<long>(values, shape);
        return this;
    }

    public GradientCheck Initializer(TensorProto tensor)
    {
        Graph.Initializer.Add(tensor);
        return this;
    }

    /// <summary>An int64 constant (axes, shapes, indices) as an initializer.</summary>
    public GradientCheck Ints(string name, params long[] values) => Initializer(Tensors.Int64Vector(name, values));

    /// <summary>A scalar of the check's floating type as an initializer.</summary>
    public GradientCheck Scalar(string name, double value) => Initializer(Tensors.Scalar(name, ElemType, value));

    public GradientCheck Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        Graph.Node.Add(TinyModels.Node(op, inputs, outputs, $"{op}_{Graph.Node.Count}", attributes));
        return this;
    }

    /// <summary>Outputs the loss is built from (default: the last node's first output).</summary>
    public GradientCheck LossOf(params string[] outputs)
    {
        _outputs.AddRange(outputs);
        return this;
    }

    /// <summary>Builds, differentiates, runs and compares; returns the backward pass for further assertions.</summary>
    public GradientGraph Verify()
    {
        var forward = BuildForward(out var weights);
        var trainable = _variables.Where(v => v.Trainable).Select(v => v.Name).ToList();
        var training = forward.Clone();
        var backward = ReverseDifferentiator.Differentiate(training, ArtifactNames.Loss, trainable, _fusionShaped);
        Training = training;
        foreach (var v in _variables.Where(v => v.Trainable))
        {
            training.Graph.Node.Add(TinyModels.Node("Identity", [backward.Gradients[v.Name]], [ArtifactNames.Grad(v.Name)]));
            training.Graph.Output.Add(new ValueInfoProto { Name = ArtifactNames.Grad(v.Name), Type = v.Declared.Type.Clone() });
        }
        Assert.IsTrue(training.Graph.Node.All(n => n.Domain is "" or "ai.onnx"), "backward ops are default-domain ONNX");
        // For checking by hand (e.g. onnx.checker with full_check): VBLORA_DUMP_GRADIENT_MODELS=<folder>.
        if (Environment.GetEnvironmentVariable("VBLORA_DUMP_GRADIENT_MODELS") is { Length: > 0 } dump)
            training.Save(Path.Combine(dump, $"{string.Join("_", Graph.Node.Select(n => n.OpType).Distinct().Take(4))}_{Guid.NewGuid():N}.onnx"));

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        using var trainingSession = new InferenceSession(training.ToBytesInline(), options);
        using var forwardSession = new InferenceSession(forward.ToBytesInline(), options);
        var feeds = Feeds(weights, null, 0, 0);
        var analytic = RunAll(trainingSession, feeds);
        double loss = RunLoss(forwardSession, feeds);
        Assert.AreEqual(loss, analytic[ArtifactNames.Loss][0], 1e-9 + 1e-6 * Math.Abs(loss), "training graph's loss equals the forward loss");

        foreach (var v in _variables.Where(v => v.Trainable))
        {
            double[] grad = analytic[ArtifactNames.Grad(v.Name)];
            Assert.HasCount(v.Values.Length, grad, $"gradient of {v.Name} has the input's element count");
            for (int i = 0; i < v.Values.Length; i++)
            {
                double h = Tolerances.Step;
                double plus = RunLoss(forwardSession, Feeds(weights, v, i, +h));
                double minus = RunLoss(forwardSession, Feeds(weights, v, i, -h));
                double numeric = (plus - minus) / (2 * h);
                double allowed = Tolerances.Absolute + Tolerances.Relative * Math.Abs(numeric);
                if (Math.Abs(grad[i] - numeric) > allowed)
                    Assert.Fail($"d loss / d {v.Name}[{i}]: backward {grad[i]:G9}, central difference {numeric:G9} (allowed error {allowed:G3}). " +
                                $"All backward values: [{string.Join(", ", grad.Select(g => g.ToString("G4")))}]");
            }
        }
        return backward;
    }

    // loss = Σ_o ReduceSum(o ⊙ r_o); r_o are graph inputs declared with o's inferred shape.
    OnnxModel BuildForward(out Dictionary<string, (int[] Shape, double[] Values)> weights)
    {
        var outputs = _outputs.Count > 0 ? _outputs : [_proto.Graph.Node[^1].Output[0]];
        var shapes = ProbeOutputShapes(outputs);
        var rng = new Random(4242);
        weights = outputs.ToDictionary(o => $"loss_weight_{o}", o =>
            (shapes[o], Enumerable.Range(0, shapes[o].Aggregate(1, (a, d) => a * d)).Select(_ => rng.NextDouble() * 2 - 1).ToArray()));

        var proto = _proto.Clone();
        var model = OnnxModel.FromProto(proto);
        var facts = ShapeInference.Infer(model, new GraphConstants(model));
        var terms = new List<string>();
        foreach (var o in outputs)
        {
            string r = $"loss_weight_{o}", product = $"loss_product_{o}", term = $"loss_term_{o}";
            var shape = facts[o].Shape;
            proto.Graph.Input.Add(shape == null
                ? AnyShape(r, ElemType)
                : TinyModels.Value(r, ElemType, shape.Select((d, i) => d.Value is long v ? (object)v : d.Symbol ?? $"unknown_{o}_{i}").ToArray()));
            proto.Graph.Node.Add(TinyModels.Node("Mul", [o, r], [product]));
            proto.Graph.Node.Add(TinyModels.Node("ReduceSum", [product], [term], null, Attr.Int("keepdims", 0)));
            terms.Add(term);
        }
        proto.Graph.Node.Add(TinyModels.Node("Sum", [.. terms], [ArtifactNames.Loss]));
        proto.Graph.Output.Add(TinyModels.Value(ArtifactNames.Loss, ElemType));
        return model;
    }

    /// <summary>A declaration with an element type and no shape.</summary>
    public static ValueInfoProto AnyShape(string name, int elemType) =>
        new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType } } };

    // Runs the graph without the loss to learn the outputs' actual shapes.
    Dictionary<string, int[]> ProbeOutputShapes(List<string> outputs)
    {
        var probe = OnnxModel.FromProto(_proto.Clone());
        foreach (var o in outputs)
            probe.Graph.Output.Add(AnyShape(o, ElemType));
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(probe.ToBytesInline(), options);
        return Run(session, Feeds([], null, 0, 0), outputs.ToArray()).ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
    }

    List<NamedOnnxValue> Feeds(Dictionary<string, (int[] Shape, double[] Values)> weights, Variable? perturbed, int index, double delta)
    {
        var feeds = new List<NamedOnnxValue>();
        foreach (var v in _variables)
        {
            var values = (double[])v.Values.Clone();
            if (v == perturbed)
                values[index] += delta;
            feeds.Add(Floating(v.Name, v.Shape, values));
        }
        foreach (var (name, (shape, values)) in weights)
            feeds.Add(Floating(name, shape, values));
        foreach (var (name, tensor) in _integerInputs)
            feeds.Add(NamedOnnxValue.CreateFromTensor(name, tensor));
        return feeds;
    }

    NamedOnnxValue Floating(string name, int[] shape, double[] values) => ElemType == (int)DataType.Double
        ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<double>(values, shape))
        : NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(values.Select(v => (float)v).ToArray(), shape));

    static double RunLoss(InferenceSession session, List<NamedOnnxValue> feeds) =>
        Run(session, feeds, [ArtifactNames.Loss])[ArtifactNames.Loss].Values[0];

    static Dictionary<string, double[]> RunAll(InferenceSession session, List<NamedOnnxValue> feeds) =>
        Run(session, feeds, session.OutputMetadata.Keys.ToArray()).ToDictionary(kv => kv.Key, kv => kv.Value.Values);

    static Dictionary<string, (int[] Shape, double[] Values)> Run(InferenceSession session, List<NamedOnnxValue> feeds, string[] outputs)
    {
        using var results = session.Run(feeds, outputs);
        return results.ToDictionary(r => r.Name, r => r.Value switch
        {
            DenseTensor<double> d => (d.Dimensions.ToArray(), d.Buffer.ToArray()),
            DenseTensor<float> f => (f.Dimensions.ToArray(), f.Buffer.ToArray().Select(v => (double)v).ToArray()),
            _ => throw new InvalidOperationException($"output {r.Name} is not floating"),
        });
    }
}
