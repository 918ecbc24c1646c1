using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Adapters;

[TestClass]
public sealed class AdapterInjectorTests
{
    static readonly VbLoraMethod Small = new(new VbLoraOptions { NumVectors = 6, VectorLength = 4, Rank = 2, TopK = 2 });

    [TestMethod]
    public void Inject_WhenBankIsZero_OutputEqualsBase()
    {
        OnnxModel baseModel = TinyModels.TwoLayerMlp(8, 16, 8);
        var targets = AdapterFixtures.MlpTargets(8, 16, 8);
        var values = Small.InitialValues(Small.Plan(targets)).ToDictionary();
        values[VbLoraNames.VectorBank] = new float[values[VbLoraNames.VectorBank].Length];

        var injected = AdapterInjector.InjectWithInitializers(baseModel, Small, targets, values);

        var input = AdapterFixtures.Input(5, 8);
        float diff = OrtRunner.MaxAbsDiff(OrtRunner.Run(baseModel, input)["y"], OrtRunner.Run(injected.Model, input)["y"]);
        Assert.IsLessThanOrEqualTo(1e-6f, diff);
    }

    [TestMethod]
    public void Inject_AtDefaultInit_OutputDiffersFromBase()
    {
        OnnxModel baseModel = TinyModels.TwoLayerMlp(8, 16, 8);

        var injected = AdapterInjector.InjectWithInitializers(baseModel, Small, AdapterFixtures.MlpTargets(8, 16, 8));

        var input = AdapterFixtures.Input(5, 8);
        float diff = OrtRunner.MaxAbsDiff(OrtRunner.Run(baseModel, input)["y"], OrtRunner.Run(injected.Model, input)["y"]);
        Assert.IsGreaterThan(1e-6f, diff);
    }

    [TestMethod]
    public void Inject_AddsLowRankTermToTargetOutput_ForEveryConsumerAndGraphOutput()
    {
        const int inDim = 8, outDim = 4, batch = 3;
        OnnxModel baseModel = AdapterFixtures.GemmTransB(inDim, outDim);
        var target = AdapterFixtures.GemmTarget(inDim, outDim);
        var plan = Small.Plan([target]);
        var values = AdapterFixtures.TrainedLooking(plan);
        var factors = Small.ComputeFactors(plan, values)[0];

        var injected = AdapterInjector.InjectWithInitializers(baseModel, Small, [target], values);

        var input = AdapterFixtures.Input(batch, inDim);
        float[] x = AdapterFixtures.Flat((Tensor<float>)input["x"]);
        var before = OrtRunner.Run(baseModel, input);
        var after = OrtRunner.Run(injected.Model, input);
        float[] expected = AdapterFixtures.Flat(before["g"]);
        for (int n = 0; n < batch; n++)              // g += (x·Aᵀ)·Bᵀ, computed here row by row
            for (int o = 0; o < outDim; o++)
                for (int k = 0; k < plan.Rank; k++)
                {
                    double xa = Enumerable.Range(0, inDim).Sum(i => (double)x[n * inDim + i] * factors.A[k * inDim + i]);
                    expected[n * outDim + o] += (float)(xa * factors.B[o * plan.Rank + k]);
                }
        Assert.IsLessThanOrEqualTo(1e-5f, AdapterFixtures.MaxAbsDiff(expected, AdapterFixtures.Flat(after["g"])), "graph output g");
        Assert.IsLessThanOrEqualTo(1e-5f, AdapterFixtures.MaxAbsDiff(expected.Select(MathF.Tanh).ToArray(), AdapterFixtures.Flat(after["t"])), "Tanh reads the adapted g");
        Assert.IsGreaterThan(1e-3f, AdapterFixtures.MaxAbsDiff(AdapterFixtures.Flat(before["g"]), expected), "the adapter term is not negligible");
    }

    [TestMethod]
    public void Inject_WithGraphInputs_DeclaresParametersAndComputesAsWithInitializers()
    {
        OnnxModel baseModel = TinyModels.TwoLayerMlp(8, 16, 8);
        var targets = AdapterFixtures.MlpTargets(8, 16, 8);
        var values = AdapterFixtures.TrainedLooking(Small.Plan(targets));

        var asInputs = AdapterInjector.InjectWithGraphInputs(baseModel, Small, targets);
        var asInitializers = AdapterInjector.InjectWithInitializers(baseModel, Small, targets, values);

        foreach (var p in asInputs.Plan.Parameters)
        {
            var declared = asInputs.Model.Graph.Input.SingleOrDefault(i => i.Name == p.Name);
            Assert.IsNotNull(declared, $"{p.Name} is a graph input");
            CollectionAssert.AreEqual(p.Shape, declared.Type.TensorType.Shape.Dim.Select(d => d.DimValue).ToArray(), p.Name);
            Assert.IsFalse(asInputs.Model.Graph.Initializer.Any(t => t.Name == p.Name), $"{p.Name} is not also an initializer");
        }
        var input = AdapterFixtures.Input(4, 8);
        var fed = new Dictionary<string, object>(input);
        foreach (var p in asInputs.Plan.Parameters)
            fed[p.Name] = new DenseTensor<float>(values[p.Name], p.Shape.Select(d => (int)d).ToArray());
        float diff = OrtRunner.MaxAbsDiff(OrtRunner.Run(asInitializers.Model, input)["y"], OrtRunner.Run(asInputs.Model, fed)["y"]);
        Assert.AreEqual(0f, diff);
    }

    // The weight form computes what the activation form does, with each target's own MatMul reading W + Aᵀ·Bᵀ.
    [TestMethod]
    public void Inject_InWeightForm_TargetsReadTheirAdaptedWeightAndComputeAsTheActivationForm()
    {
        OnnxModel baseModel = TinyModels.TwoLayerMlp(8, 16, 8);
        var targets = AdapterFixtures.MlpTargets(8, 16, 8);
        var values = AdapterFixtures.TrainedLooking(Small.Plan(targets));

        var activation = AdapterInjector.InjectWithGraphInputs(baseModel, Small, targets);
        var weight = AdapterInjector.InjectWithGraphInputs(baseModel, Small, targets, TargetForm.Weight);

        Assert.AreEqual(2, AdaptedProducts(weight.Model), "both targets read an adapted weight");
        Assert.AreEqual(0, AdaptedProducts(activation.Model));
        var fed = new Dictionary<string, object>(AdapterFixtures.Input(4, 8));
        foreach (var p in weight.Plan.Parameters)
            fed[p.Name] = new DenseTensor<float>(values[p.Name], p.Shape.Select(d => (int)d).ToArray());
        Assert.IsLessThanOrEqualTo(1e-5f, OrtRunner.MaxAbsDiff(OrtRunner.Run(activation.Model, fed)["y"], OrtRunner.Run(weight.Model, fed)["y"]));
    }

    // A target wider than WeightFormMaxCrossoverTokens allows (2052 × 2052: 1026 tokens) keeps the activation form; the
    // narrow one after it (2052 → 8) takes the weight form.
    [TestMethod]
    public void Inject_InWeightForm_AWideTargetKeepsTheActivationForm()
    {
        OnnxModel baseModel = TinyModels.TwoLayerMlp(2052, 2052, 8);
        var targets = AdapterFixtures.MlpTargets(2052, 2052, 8);

        var weight = AdapterInjector.InjectWithGraphInputs(baseModel, Small, targets, TargetForm.Weight);

        var adapted = AdaptedProductWeights(weight.Model);
        Assert.HasCount(1, adapted, "one target reads an adapted weight");
        Assert.AreEqual(targets[1].WeightName, adapted[0], "the narrow one");
    }

    static int AdaptedProducts(OnnxModel model) => AdaptedProductWeights(model).Count;

    // The frozen weights that target MatMuls read through an Add (W + Aᵀ·Bᵀ).
    static List<string> AdaptedProductWeights(OnnxModel model)
    {
        var sums = model.Graph.Node.Where(n => n.OpType == "Add").ToDictionary(n => n.Output[0]);
        return model.Graph.Node.Where(n => n.OpType == "MatMul" && sums.ContainsKey(n.Input[1]))
            .Select(n => sums[n.Input[1]].Input[0]).ToList();
    }

    [TestMethod]
    public void Inject_EmitsCompositionOnceForAllModules_InTopologicalOrder()
    {
        OnnxModel baseModel = TinyModels.TwoLayerMlp(8, 16, 8);
        var targets = AdapterFixtures.MlpTargets(8, 16, 8);

        var injected = AdapterInjector.InjectWithInitializers(baseModel, Small, targets);

        var graph = injected.Model.Graph;
        Assert.AreEqual(2, graph.Node.Count(n => n.OpType == "TopK"), "one TopK for every module's A and one for every B");
        Assert.AreEqual(baseModel.Graph.Node.Count(n => n.OpType == "MatMul") + 2 + 2 * targets.Length,
            graph.Node.Count(n => n.OpType == "MatMul"), "one MatMul per admixture (all A, all B) and two per module on the activations");
        Assert.AreEqual(2 * targets.Length, graph.Node.Count(n => n.OpType == "Slice"), "each module's A and B sliced from the joined ones");
        Assert.IsTrue(AdapterFixtures.IsTopologicallySorted(graph), "nodes are in topological order");
        Assert.IsTrue(baseModel.Graph.Node.All(n => n.Output.All(o => baseModel.Graph.Node.Count(m => m.Output.Contains(o)) == 1)));
        CollectionAssert.AreEqual(baseModel.Graph.Output.Select(o => o.Name).ToArray(), graph.Output.Select(o => o.Name).ToArray(),
            "graph outputs keep their names");
    }

    [TestMethod]
    public void Inject_WhenAlreadyInjected_ThrowsNamingTheTensor()
    {
        var targets = AdapterFixtures.MlpTargets(8, 16, 8);
        var once = AdapterInjector.InjectWithInitializers(TinyModels.TwoLayerMlp(8, 16, 8), Small, targets);

        var e = Assert.ThrowsExactly<AdapterException>(() => AdapterInjector.InjectWithInitializers(once.Model, Small, targets));

        StringAssert.Contains(e.Message, "'vblora_vector_bank'");
    }

    [TestMethod]
    public void Inject_WhenTargetNodeMissing_ThrowsNamingModule()
    {
        var wrong = AdapterFixtures.MlpTargets(8, 16, 8)[0] with { NodeName = "MatMul_99" };

        var e = Assert.ThrowsExactly<AdapterException>(() => AdapterInjector.InjectWithInitializers(TinyModels.TwoLayerMlp(8, 16, 8), Small, [wrong]));

        StringAssert.StartsWith(e.Message, "layer1: node 'MatMul_99' is not in the model");
    }

    [TestMethod]
    public void Inject_WhenOpsetTooOld_ThrowsNamingOpset()
    {
        OnnxModel old = TinyModels.TwoLayerMlp(8, 16, 8);
        old.Proto.OpsetImport[0].Version = 9;

        var e = Assert.ThrowsExactly<AdapterException>(() => AdapterInjector.InjectWithInitializers(old, Small, AdapterFixtures.MlpTargets(8, 16, 8)));

        StringAssert.Contains(e.Message, "imports opset 9; adapters need opset 11 or newer");
    }

    [TestMethod]
    public void Inject_LeavesBaseModelUnchanged()
    {
        OnnxModel baseModel = TinyModels.TwoLayerMlp(8, 16, 8);
        byte[] before = baseModel.ToBytesInline();

        AdapterInjector.InjectWithInitializers(baseModel, Small, AdapterFixtures.MlpTargets(8, 16, 8));

        CollectionAssert.AreEqual(before, baseModel.ToBytesInline());
    }
}
