using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.GraphBuilder;
using VbLoraOrt.GraphBuilder.Adapters;
using VbLoraOrt.GraphBuilder.Adapters.Lora;
using VbLoraOrt.GraphBuilder.Differentiation;
using VbLoraOrt.GraphBuilder.Discovery;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Adapters;

[TestClass]
public sealed class LoraMethodTests
{
    const float Tolerance = 1e-6f;
    static readonly LoraMethod Method = new(new LoraOptions { Rank = 3, Alpha = 6 }); // scaling 2

    static LinearModule[] Targets => AdapterFixtures.MlpTargets(8, 16, 8);

    [TestMethod]
    public void Plan_ListsAThenBPerModule_WithPeftShapesInTheAdapterGroup()
    {
        var plan = Method.Plan(Targets);

        CollectionAssert.AreEqual(
            new[] { "lora_A.layer1[3,8]", "lora_B.layer1[16,3]", "lora_A.layer2[3,16]", "lora_B.layer2[8,3]" },
            plan.Parameters.Select(p => $"{p.Name}[{string.Join(",", p.Shape)}]").ToArray());
        Assert.IsTrue(plan.Parameters.All(p => p.Group == ParameterGroups.Adapter));
        Assert.AreEqual(3 * (8 + 16) + 3 * (16 + 8), Method.StoredParameterCount(plan));
    }

    [TestMethod]
    public void Factors_FromOrtAndFromCSharp_AreAAndScaledB()
    {
        var plan = Method.Plan(Targets);
        var values = AdapterFixtures.TrainedLooking(plan);
        var injected = AdapterInjector.InjectWithInitializers(TinyModels.TwoLayerMlp(8, 16, 8), Method, Targets, values);
        AdapterFixtures.ExposeAsOutputs(injected.Model, injected.Factors.SelectMany(f => new[] { f.A, f.B }).ToArray());

        var fromOrt = OrtRunner.Run(injected.Model, AdapterFixtures.Input(2, 8));
        var fromCSharp = Method.ComputeFactors(plan, values);

        foreach (var (f, computed) in injected.Factors.Zip(fromCSharp))
        {
            float[] a = values[AdapterTensorNames.LoraA(f.Module.Path)];
            float[] b = values[AdapterTensorNames.LoraB(f.Module.Path)].Select(v => v * 2f).ToArray();
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(a, AdapterFixtures.Flat(fromOrt[f.A])), $"{f.Module.Path} A from ORT");
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(b, AdapterFixtures.Flat(fromOrt[f.B])), $"{f.Module.Path} B from ORT");
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(a, computed.A), $"{f.Module.Path} A in C#");
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(b, computed.B), $"{f.Module.Path} B in C#");
        }
    }

    [TestMethod]
    public void InitialValues_AreKaimingUniformAAndZeroB_SoTheModelStartsAtTheBase()
    {
        var plan = Method.Plan(Targets);
        var values = Method.InitialValues(plan);
        var again = new LoraMethod(new LoraOptions { Rank = 3, Alpha = 6 }).InitialValues(plan);
        var otherSeed = new LoraMethod(new LoraOptions { Rank = 3, Alpha = 6, Seed = 7 }).InitialValues(plan);

        foreach (var t in Targets)
        {
            float[] a = values[AdapterTensorNames.LoraA(t.Path)];
            double bound = 1 / Math.Sqrt(t.InFeatures);
            Assert.IsTrue(a.All(v => Math.Abs(v) <= bound) && a.Any(v => Math.Abs(v) > bound / 2), $"{t.Path}: A ~ U(±1/√in)");
            Assert.IsTrue(values[AdapterTensorNames.LoraB(t.Path)].All(v => v == 0), $"{t.Path}: B = 0");
            CollectionAssert.AreEqual(a, again[AdapterTensorNames.LoraA(t.Path)], "same seed, same values");
            CollectionAssert.AreNotEqual(a, otherSeed[AdapterTensorNames.LoraA(t.Path)], "another seed, other values");
        }
        var baseModel = TinyModels.TwoLayerMlp(8, 16, 8);
        var adapted = AdapterInjector.InjectWithInitializers(baseModel, Method, Targets, values).Model;
        var input = AdapterFixtures.Input(4, 8);
        Assert.AreEqual(0f, OrtRunner.MaxAbsDiff(OrtRunner.Run(baseModel, input)["y"], OrtRunner.Run(adapted, input)["y"]));
    }

    [TestMethod]
    public void Merge_WhenTrained_MatchesAdapterOutput()
    {
        var baseModel = TinyModels.TwoLayerMlp(8, 16, 8);
        var plan = Method.Plan(Targets);
        var values = AdapterFixtures.TrainedLooking(plan, seed: 5);
        var adapted = AdapterInjector.InjectWithInitializers(baseModel, Method, Targets, values).Model;
        var merged = AdapterMerger.Merge(baseModel, Method.ComputeFactors(plan, values));

        var input = AdapterFixtures.Input(6, 8);
        Assert.IsLessThanOrEqualTo(1e-4f, OrtRunner.MaxAbsDiff(OrtRunner.Run(adapted, input)["y"], OrtRunner.Run(merged, input)["y"]));
        Assert.AreEqual(baseModel.Graph.Node.Count, merged.Graph.Node.Count, "merged: the base graph, weights changed");
    }

    [TestMethod]
    public void Gradients_OfAAndB_MatchDirectionalFiniteDifferences()
    {
        // loss = Σ y² of the MLP with LoRA on both layers (the second behind a tanh); A and B are graph inputs.
        var injected = AdapterInjector.InjectWithGraphInputs(TinyModels.TwoLayerMlp(8, 16, 8), Method, Targets);
        var model = injected.Model;
        var e = new GraphEmitter(model.Graph, "loss");
        e.OpNamed("ReduceSum", [e.Op("Mul", ["y", "y"])], ["loss"], Attr.Int("keepdims", 0));
        model.Graph.Output.Clear();
        model.Graph.Output.Add(ValueInfos.Float("loss"));
        var plan = injected.Plan;
        var gradients = ReverseDifferentiator.Differentiate(model, "loss", plan.Parameters.Select(p => p.Name).ToList());
        AdapterFixtures.ExposeAsOutputs(model, plan.Parameters.Select(p => gradients.Gradients[p.Name]).ToArray());

        var values = AdapterFixtures.TrainedLooking(plan, seed: 9).ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => v * 0.3f).ToArray());
        Dictionary<string, object> Feeds(Dictionary<string, float[]> v)
        {
            var feeds = AdapterFixtures.Input(5, 8);
            foreach (var p in plan.Parameters)
                feeds[p.Name] = new DenseTensor<float>(v[p.Name], p.Shape.Select(d => (int)d).ToArray());
            return feeds;
        }
        var outputs = OrtRunner.Run(model, Feeds(values));

        var random = new Random(3);
        for (int direction = 0; direction < 3; direction++)
        {
            var d = plan.Parameters.ToDictionary(p => p.Name, p => Enumerable.Range(0, (int)p.ElementCount).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray());
            double analytic = plan.Parameters.Sum(p => AdapterFixtures.Flat(outputs[gradients.Gradients[p.Name]]).Zip(d[p.Name], (g, x) => (double)g * x).Sum());
            const float step = 1e-2f;
            double Loss(float sign) => OrtRunner.Run(model, Feeds(values.ToDictionary(kv => kv.Key,
                kv => kv.Value.Zip(d[kv.Key], (v, x) => v + sign * step * x).ToArray())))["loss"].GetValue(0);
            double numeric = (Loss(1) - Loss(-1)) / (2 * step);
            Assert.AreEqual(numeric, analytic, 1e-2 * Math.Max(1, Math.Abs(numeric)), $"direction {direction}");
        }
    }

    [TestMethod]
    public void AdapterMethods_RecreatesLoraFromItsManifestOptions()
    {
        var options = AdapterMethods.OptionsOf(Method);

        var recreated = (LoraMethod)AdapterMethods.Create("lora", options);

        Assert.AreEqual(3, recreated.Options.Rank);
        Assert.AreEqual(2.0, recreated.Options.Scaling);
    }

    [TestMethod]
    public void Options_WhenAlphaIsNotPositive_ThrowNamingIt()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LoraMethod(new LoraOptions { Alpha = 0 }));
        StringAssert.Contains(e.Message, "Alpha");
    }
}
