using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.UniLora;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;

namespace VbLoraOrt.Tests.Adapters;

[TestClass]
public sealed class UniLoraMethodTests
{
    const float Tolerance = 1e-6f;
    // D = r·(8+16) + r·(16+8) = 144 LoRA entries from d = 40 values.
    static readonly UniLoraMethod Method = new(new UniLoraOptions { ThetaLength = 40, Rank = 3, ProjectionSeed = 5 });

    static LinearModule[] Targets => AdapterFixtures.MlpTargets(8, 16, 8);

    [TestMethod]
    public void Plan_IsOneThetaVector_AndStoresOnlyIt()
    {
        var plan = Method.Plan(Targets);

        Assert.AreEqual("unilora_theta_d[40]:theta", string.Join(";", plan.Parameters.Select(p => $"{p.Name}[{string.Join(",", p.Shape)}]:{p.Group}")));
        Assert.AreEqual(144, Method.LoraEntries(Targets));
        Assert.AreEqual(40, Method.StoredParameterCount(plan));
    }

    [TestMethod]
    public void Plan_WhenThetaIsLongerThanTheLoraEntries_ThrowsNamingBoth()
    {
        var method = new UniLoraMethod(new UniLoraOptions { ThetaLength = 145, Rank = 3 });

        var e = Assert.ThrowsExactly<AdapterException>(() => method.Plan(Targets));
        StringAssert.Contains(e.Message, "145");
        StringAssert.Contains(e.Message, "144");
    }

    [TestMethod]
    public void Factors_FromOrtAndFromCSharp_AreThetaThroughTheProjection()
    {
        var (values, injected, fromOrt, fromCSharp) = AdapterFixtures.FactorsBothWays(Method, Targets);

        // Independently: the flat vector θ[index[i]] / √(uses of that column), cut into A then B per target.
        var projection = UniLoraProjection.Create(144, 40, 5);
        var uses = projection.Index.GroupBy(j => j).ToDictionary(g => g.Key, g => g.Count());
        float[] theta = values[UniLoraNames.Theta];
        float[] flat = projection.Index.Select(j => (float)(theta[j] / Math.Sqrt(uses[j]))).ToArray();
        int offset = 0;
        foreach (var (f, computed) in injected.Factors.Zip(fromCSharp))
        {
            int aCount = 3 * f.Module.InFeatures, bCount = f.Module.OutFeatures * 3;
            float[] a = flat[offset..(offset + aCount)], b = flat[(offset + aCount)..(offset + aCount + bCount)];
            offset += aCount + bCount;
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(a, AdapterFixtures.Flat(fromOrt[f.A])), $"{f.Module.Path} A from ORT");
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(b, AdapterFixtures.Flat(fromOrt[f.B])), $"{f.Module.Path} B from ORT");
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(a, computed.A), $"{f.Module.Path} A in C#");
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(b, computed.B), $"{f.Module.Path} B in C#");
        }
        Assert.AreEqual(144, offset);
    }

    [TestMethod]
    public void Gradient_OfTheta_MatchesDirectionalFiniteDifferences() =>
        AdapterFixtures.CheckGradients(Method, Targets, valueScale: 0.5f);

    [TestMethod]
    public void Merge_WhenTrained_MatchesAdapterOutput() => AdapterFixtures.CheckMergeMatchesAdapter(Method, Targets);

    [TestMethod]
    public void InitialValues_AreUniformWithinTheBound_AndSeeded()
    {
        var plan = Method.Plan(Targets);

        float[] theta = Method.InitialValues(plan)[UniLoraNames.Theta];
        float[] again = new UniLoraMethod(new UniLoraOptions { ThetaLength = 40, Rank = 3, ProjectionSeed = 5 }).InitialValues(plan)[UniLoraNames.Theta];

        Assert.IsTrue(theta.All(v => Math.Abs(v) <= 0.02) && theta.Any(v => Math.Abs(v) > 0.01));
        CollectionAssert.AreEqual(theta, again);
    }

    [TestMethod]
    public void AdapterMethods_RecreatesUniLoraFromItsManifestOptions()
    {
        var recreated = (UniLoraMethod)AdapterMethods.Create("unilora", Method.SaveOptions());

        Assert.AreEqual(40, recreated.Options.ThetaLength);
        Assert.AreEqual(5, recreated.Options.ProjectionSeed);
    }
}
