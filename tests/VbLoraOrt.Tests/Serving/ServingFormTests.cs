using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Tests.OnnxAdapters;

namespace VbLoraOrt.Tests.Serving;

/// <summary>
/// The serving forms (<see cref="ServingFormChoice"/>): for every method, each form with an adapter active gives the
/// merged model's logits, for a request below the switch's crossover (2 tokens: the activation branch on the 8-wide
/// tiny encoder, crossover 4) and one above it (18 tokens: the weight branch).
/// </summary>
[TestClass]
public sealed class ServingFormTests
{
    const float Tolerance = 1e-4f;
    static readonly long[][] Small = [[2, 3]];
    static readonly long[][] Large = [[2, 4, 5, 3], [2, 6, 7, 8, 9, 3], [2, 10, 3]];

    public TestContext TestContext { get; set; } = null!;

    public static IEnumerable<object[]> Cases =>
        from name in AdapterMethods.Names
        from form in new[] { ServingFormChoice.Activation, ServingFormChoice.Weight, ServingFormChoice.Switch }
        select new object[] { name, form };

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void EveryForm_BelowAndAboveTheCrossover_MatchesMergedModel(string name, ServingFormChoice form)
    {
        var method = TinyServing.Method(name);
        var serving = TinyServing.Build(method, form);
        var values = TinyServing.Values(serving, seed: 11);
        var adapter = TinyServing.Adapter(method, serving, values);
        long crossover = ServingWiring.CrossoverTokens(serving.Plan.Targets[0]);
        Assert.IsLessThan(crossover, Small[0].Length, "the small request is below the crossover");
        Assert.IsGreaterThan(crossover, Large.Length * Large.Max(r => r.Length), "the large one above it");

        using var session = OrtLoraAdapterTests.NewSession(serving.Model);
        using var loaded = OrtLoraAdapter.Create(OnnxAdapterFile.ToBytes(adapter), null);
        using var run = new RunOptions();
        run.AddActiveLoraAdapter(loaded);
        using var merged = OrtLoraAdapterTests.NewSession(TinyServing.Merged(method, serving, values));
        using var plain = new RunOptions();
        foreach (var ids in new[] { Small, Large })
        {
            float diff = TinyServing.MaxAbsDiff(TinyServing.Logits(merged, plain, ids), TinyServing.Logits(session, run, ids));
            TestContext.WriteLine($"{name} {form}, {ids.Length}×{ids.Max(r => r.Length)}: max |serving - merged| = {diff:g3}");
            Assert.IsLessThanOrEqualTo(Tolerance, diff);
        }
    }

    [TestMethod]
    public void Forms_ReplaceTheTargetMatMulsAsChosen()
    {
        var method = TinyServing.Method("lora");
        int Ifs(ServingFormChoice form) => TinyServing.Build(method, form).Model.Graph.Node.Count(n => n.OpType == "If");
        int targets = TinyServing.Build(method).Plan.Targets.Count;

        Assert.AreEqual(0, Ifs(ServingFormChoice.Activation));
        Assert.AreEqual(0, Ifs(ServingFormChoice.Weight));
        Assert.AreEqual(targets, Ifs(ServingFormChoice.Switch), "the default");
    }

    [TestMethod]
    public void CrossoverTokens_IsWhereTheTwoFormsCostTheSame()
    {
        // A 384-wide layer (all-MiniLM-L6-v2's query): 2·T·r·(384 + 384) = 2·r·384·384 at T = 192, whatever r.
        var query = new LinearModule("encoder.layer.0.attention.self.query", PathSource.WeightName, "q", "MatMul", 384, 384, "w", WeightLayout.InOut, "b", "x", "y");
        var wide = query with { OutFeatures = 1536 };

        Assert.AreEqual(192, ServingWiring.CrossoverTokens(query));
        Assert.AreEqual(384 * 1536 / (384 + 1536), ServingWiring.CrossoverTokens(wide));
    }
}
