using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Merging;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Differentiation;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Adapters;

/// <summary>Tiny models with their linear modules written out by hand, and adapter values, for adapter and merge tests.</summary>
public static class AdapterFixtures
{
    /// <summary>The two MatMul layers of <see cref="TinyModels.TwoLayerMlp"/>: <c>layer1</c> (x → h1) and <c>layer2</c> (h2 → y).</summary>
    public static LinearModule[] MlpTargets(int inDim = 4, int hidden = 8, int outDim = 4) =>
    [
        new("layer1", PathSource.BiasName, "MatMul_0", "MatMul", inDim, hidden, "101", WeightLayout.InOut, "layer1.bias", "x", "h1"),
        new("layer2", PathSource.BiasName, "MatMul_3", "MatMul", hidden, outDim, "102", WeightLayout.InOut, "layer2.bias", "h2", "y"),
    ];

    /// <summary>
    /// x[batch,in] → Gemm(x, W[out,in], bias, transB=1) → g, a graph output, also read by Tanh → t, a second graph output.
    /// </summary>
    public static OnnxModel GemmTransB(int inDim = 8, int outDim = 4)
    {
        var m = TinyModels.NewModel();
        var g = m.Graph;
        g.Input.Add(TinyModels.FloatValue("x", "batch", inDim));
        g.Output.Add(TinyModels.FloatValue("g", "batch", outDim));
        g.Output.Add(TinyModels.FloatValue("t", "batch", outDim));
        g.Initializer.Add(Tensors.Float("proj.weight", [outDim, inDim], TinyModels.Random(outDim * inDim, 11, 0.5f)));
        g.Initializer.Add(Tensors.Float("proj.bias", [outDim], TinyModels.Random(outDim, 12, 0.1f)));
        g.Node.Add(TinyModels.Node("Gemm", ["x", "proj.weight", "proj.bias"], ["g"], "Gemm_0", Attr.Int("transB", 1)));
        g.Node.Add(TinyModels.Node("Tanh", ["g"], ["t"], "Tanh_1"));
        return OnnxModel.FromProto(m);
    }

    /// <summary>The Gemm layer of <see cref="GemmTransB"/>.</summary>
    public static LinearModule GemmTarget(int inDim = 8, int outDim = 4) =>
        new("proj", PathSource.WeightName, "Gemm_0", "Gemm", inDim, outDim, "proj.weight", WeightLayout.OutIn, "proj.bias", "x", "g");

    /// <summary>
    /// x[batch,d] → MatMul W → + first.bias → h → MatMul W (the same initializer) → y: a weight read by two nodes.
    /// </summary>
    public static OnnxModel SharedWeight(int dim = 8)
    {
        var m = TinyModels.NewModel();
        var g = m.Graph;
        g.Input.Add(TinyModels.FloatValue("x", "batch", dim));
        g.Output.Add(TinyModels.FloatValue("y", "batch", dim));
        g.Initializer.Add(Tensors.Float("77", [dim, dim], TinyModels.Random(dim * dim, 21, 0.5f)));
        g.Initializer.Add(Tensors.Float("first.bias", [dim], TinyModels.Random(dim, 22, 0.1f)));
        g.Node.Add(TinyModels.Node("MatMul", ["x", "77"], ["m0"], "MatMul_0"));
        g.Node.Add(TinyModels.Node("Add", ["m0", "first.bias"], ["h"], "Add_1"));
        g.Node.Add(TinyModels.Node("MatMul", ["h", "77"], ["y"], "MatMul_2"));
        return OnnxModel.FromProto(m);
    }

    /// <summary>The first MatMul of <see cref="SharedWeight"/>.</summary>
    public static LinearModule SharedWeightFirst(int dim = 8) =>
        new("first", PathSource.BiasName, "MatMul_0", "MatMul", dim, dim, "77", WeightLayout.InOut, "first.bias", "x", "h");

    /// <summary>The second MatMul of <see cref="SharedWeight"/> (no bias).</summary>
    public static LinearModule SharedWeightSecond(int dim = 8) =>
        new("second", PathSource.NodeName, "MatMul_2", "MatMul", dim, dim, "77", WeightLayout.InOut, null, "h", "y");

    /// <summary>
    /// Tied embeddings: ids[batch,seq] → Gather(embed.weight[vocab,d]) → h → MatMul(h, Transpose(embed.weight)) → logits.
    /// The weight is read by the Gather and, through the Transpose, by the output projection.
    /// </summary>
    public static OnnxModel TiedEmbedding(int vocab = 8, int dim = 4)
    {
        var m = TinyModels.NewModel();
        var g = m.Graph;
        g.Input.Add(TinyModels.Value("ids", (int)TensorProto.Types.DataType.Int64, "batch", "seq"));
        g.Output.Add(TinyModels.FloatValue("logits", "batch", "seq", vocab));
        g.Initializer.Add(Tensors.Float("embed.weight", [vocab, dim], TinyModels.Random(vocab * dim, 31, 0.5f)));
        g.Node.Add(TinyModels.Node("Gather", ["embed.weight", "ids"], ["h"], "Gather_0", Attr.Int("axis", 0)));
        g.Node.Add(TinyModels.Node("Transpose", ["embed.weight"], ["embed_t"], "Transpose_1", Attr.Ints("perm", 1, 0)));
        g.Node.Add(TinyModels.Node("MatMul", ["h", "embed_t"], ["logits"], "MatMul_2"));
        return OnnxModel.FromProto(m);
    }

    /// <summary>Values far from the init, as after training: bank U(-bankScale, bankScale), logits U(-2, 2).</summary>
    public static Dictionary<string, float[]> TrainedLooking(AdapterPlan plan, int seed = 100, float bankScale = 0.5f) =>
        plan.Parameters.Select((p, i) => (p.Name, Values: TinyModels.Random((int)p.ElementCount, seed + i, p.Group == "bank" ? bankScale : 2f)))
            .ToDictionary(e => e.Name, e => e.Values);

    /// <summary>A random input batch [batch, dim].</summary>
    public static Dictionary<string, object> Input(int batch, int dim, int seed = 7) =>
        new() { ["x"] = new DenseTensor<float>(TinyModels.Random(batch * dim, seed), [batch, dim]) };

    /// <summary>Makes <paramref name="values"/> graph outputs (float, shape left to inference) so a test can read them.</summary>
    public static void ExposeAsOutputs(OnnxModel model, params string[] values)
    {
        foreach (string name in values)
            model.Graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
    }

    /// <summary>Row-major values of a tensor.</summary>
    public static float[] Flat(Tensor<float> t) => t.ToDenseTensor().Buffer.ToArray();

    /// <summary>Largest |a - b| over two equally long arrays.</summary>
    public static float MaxAbsDiff(float[] a, float[] b)
    {
        Assert.AreEqual(a.Length, b.Length, "lengths differ");
        return a.Zip(b, (x, y) => Math.Abs(x - y)).DefaultIfEmpty(0f).Max();
    }

    /// <summary>
    /// Trained-looking values of <paramref name="method"/> on <see cref="TinyModels.TwoLayerMlp"/> (8 → 16 → 8), and the
    /// targets' factors both as the injected graph computes them (read back from ORT by name) and as the method computes them in C#.
    /// </summary>
    public static (Dictionary<string, float[]> Values, InjectedModel Injected, Dictionary<string, Tensor<float>> FromOrt, IReadOnlyList<LowRankFactors> FromCSharp)
        FactorsBothWays(IAdapterMethod method, LinearModule[] targets)
    {
        var plan = method.Plan(targets);
        var values = TrainedLooking(plan);
        var injected = AdapterInjector.InjectWithInitializers(TinyModels.TwoLayerMlp(8, 16, 8), method, targets, values);
        ExposeAsOutputs(injected.Model, injected.Factors.SelectMany(f => new[] { f.A, f.B }).ToArray());
        return (values, injected, OrtRunner.Run(injected.Model, Input(2, 8)), method.ComputeFactors(plan, values));
    }

    /// <summary>
    /// Injects trained-looking values of <paramref name="method"/> into <see cref="TinyModels.TwoLayerMlp"/> (8 → 16 → 8),
    /// merges the same values into the base weights, and checks both give the same output (≤ 1e-4) with the base's nodes.
    /// </summary>
    public static void CheckMergeMatchesAdapter(IAdapterMethod method, LinearModule[] targets)
    {
        var baseModel = TinyModels.TwoLayerMlp(8, 16, 8);
        var plan = method.Plan(targets);
        var values = TrainedLooking(plan, seed: 5);
        var adapted = AdapterInjector.InjectWithInitializers(baseModel, method, targets, values).Model;
        var merged = VbLoraOrt.Adapters.Merging.AdapterMerger.Merge(baseModel, method.ComputeFactors(plan, values));

        var input = Input(6, 8);
        Assert.IsLessThanOrEqualTo(1e-4f, OrtRunner.MaxAbsDiff(OrtRunner.Run(adapted, input)["y"], OrtRunner.Run(merged, input)["y"]));
        Assert.AreEqual(baseModel.Graph.Node.Count, merged.Graph.Node.Count, "merged: the base graph, weights changed");
    }

    /// <summary>
    /// Differentiates Σ y² of <see cref="TinyModels.TwoLayerMlp"/> (8 → 16 → 8) with <paramref name="method"/> on
    /// <paramref name="targets"/> (parameters as graph inputs, trained-looking values times <paramref name="valueScale"/>)
    /// and checks the gradient against central differences of <paramref name="step"/> along three random directions (a
    /// step small enough not to change which entries a top-k picks, for methods that have one).
    /// </summary>
    public static void CheckGradients(IAdapterMethod method, LinearModule[] targets, float valueScale, float step = 1e-2f)
    {
        var injected = AdapterInjector.InjectWithGraphInputs(TinyModels.TwoLayerMlp(8, 16, 8), method, targets);
        var model = injected.Model;
        var e = new GraphEmitter(model.Graph, "loss");
        e.OpNamed("ReduceSum", [e.Op("Mul", ["y", "y"])], ["loss"], Attr.Int("keepdims", 0));
        model.Graph.Output.Clear();
        model.Graph.Output.Add(ValueInfos.Float("loss"));
        var plan = injected.Plan;
        var gradients = ReverseDifferentiator.Differentiate(model, "loss", plan.Parameters.Select(p => p.Name).ToList());
        ExposeAsOutputs(model, plan.Parameters.Select(p => gradients.Gradients[p.Name]).ToArray());

        var values = TrainedLooking(plan, seed: 9).ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => v * valueScale).ToArray());
        Dictionary<string, object> Feeds(Dictionary<string, float[]> v)
        {
            var feeds = Input(5, 8);
            foreach (var p in plan.Parameters)
                feeds[p.Name] = new DenseTensor<float>(v[p.Name], p.Shape.Select(d => (int)d).ToArray());
            return feeds;
        }
        var outputs = OrtRunner.Run(model, Feeds(values));

        var random = new Random(3);
        for (int direction = 0; direction < 3; direction++)
        {
            var d = plan.Parameters.ToDictionary(p => p.Name, p => Enumerable.Range(0, (int)p.ElementCount).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray());
            double analytic = plan.Parameters.Sum(p => Flat(outputs[gradients.Gradients[p.Name]]).Zip(d[p.Name], (g, x) => (double)g * x).Sum());
            double Loss(float sign) => OrtRunner.Run(model, Feeds(values.ToDictionary(kv => kv.Key,
                kv => kv.Value.Zip(d[kv.Key], (v, x) => v + sign * step * x).ToArray())))["loss"].GetValue(0);
            double numeric = (Loss(1) - Loss(-1)) / (2 * step);
            Assert.IsTrue(Math.Abs(analytic) > 1e-3, $"direction {direction}: the gradient is ~0, the check would prove nothing");
            Assert.AreEqual(numeric, analytic, 1e-2 * Math.Max(1, Math.Abs(numeric)), $"direction {direction}");
        }
    }

    /// <summary>True when every node input is produced by an earlier node, an initializer or a graph input.</summary>
    public static bool IsTopologicallySorted(GraphProto graph)
    {
        var known = new HashSet<string>(graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(t => t.Name))) { "" };
        foreach (var node in graph.Node)
        {
            if (!node.Input.All(known.Contains))
                return false;
            known.UnionWith(node.Output);
        }
        return true;
    }
}
