using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;
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
        Assert.IsTrue(plan.Parameters.All(p => p.Group == LoraNames.Group));
        Assert.AreEqual(3 * (8 + 16) + 3 * (16 + 8), Method.StoredParameterCount(plan));
    }

    [TestMethod]
    public void Factors_FromOrtAndFromCSharp_AreAAndScaledB()
    {
        var (values, injected, fromOrt, fromCSharp) = AdapterFixtures.FactorsBothWays(Method, Targets);

        foreach (var (f, computed) in injected.Factors.Zip(fromCSharp))
        {
            float[] a = values[LoraNames.A(f.Module.Path)];
            float[] b = values[LoraNames.B(f.Module.Path)].Select(v => v * 2f).ToArray();
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
            float[] a = values[LoraNames.A(t.Path)];
            double bound = 1 / Math.Sqrt(t.InFeatures);
            Assert.IsTrue(a.All(v => Math.Abs(v) <= bound) && a.Any(v => Math.Abs(v) > bound / 2), $"{t.Path}: A ~ U(±1/√in)");
            Assert.IsTrue(values[LoraNames.B(t.Path)].All(v => v == 0), $"{t.Path}: B = 0");
            CollectionAssert.AreEqual(a, again[LoraNames.A(t.Path)], "same seed, same values");
            CollectionAssert.AreNotEqual(a, otherSeed[LoraNames.A(t.Path)], "another seed, other values");
        }
        var baseModel = TinyModels.TwoLayerMlp(8, 16, 8);
        var adapted = AdapterInjector.InjectWithInitializers(baseModel, Method, Targets, values).Model;
        var input = AdapterFixtures.Input(4, 8);
        Assert.AreEqual(0f, OrtRunner.MaxAbsDiff(OrtRunner.Run(baseModel, input)["y"], OrtRunner.Run(adapted, input)["y"]));
    }

    [TestMethod]
    public void Merge_WhenTrained_MatchesAdapterOutput() => AdapterFixtures.CheckMergeMatchesAdapter(Method, Targets);

    [TestMethod]
    public void Gradients_OfAAndB_MatchDirectionalFiniteDifferences() =>
        AdapterFixtures.CheckGradients(Method, Targets, valueScale: 0.3f);

    [TestMethod]
    public void AdapterMethods_RecreatesLoraFromItsManifestOptions()
    {
        var options = Method.SaveOptions();

        var recreated = (LoraMethod)AdapterMethods.Create("lora", options);

        Assert.AreEqual(3, recreated.Options.Rank);
        Assert.AreEqual(2.0, recreated.Options.Scaling);
    }

    [TestMethod]
    public void Options_WhenAlphaIsNotPositive_ThrowNamingIt()
    {
        var e = Assert.ThrowsExactly<UsageException>(() => new LoraMethod(new LoraOptions { Alpha = 0 }));
        StringAssert.Contains(e.Message, "--lora-alpha");
    }
}
