using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Merging;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Adapters;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Merge;

/// <summary>VB-LoRA on all-MiniLM-L6-v2's query and value layers: injection and merge on a real export.</summary>
[TestClass]
public sealed class MiniLmMergeTests
{
    public TestContext TestContext { get; set; } = null!;

    static readonly VbLoraMethod Method = new(new VbLoraOptions { NumVectors = 64, VectorLength = 128, Rank = 4, TopK = 2 });

    static (OnnxModel Base, IReadOnlyList<LinearModule> Targets) QueryValue()
    {
        OnnxModel model = OnnxModel.Load(RealModel.ModelPath);
        var targets = TargetSelector.Select(LinearModuleFinder.Find(model), TargetSpec.FromNames(["query", "value"]));
        Assert.HasCount(12, targets, "query and value of 6 layers");
        return (model, targets);
    }

    [TestMethod]
    public void Merge_OnMiniLmQueryValue_MatchesAdaptedModelWithBaseGraph()
    {
        var (baseModel, targets) = QueryValue();
        var plan = Method.Plan(targets);
        var values = AdapterFixtures.TrainedLooking(plan, bankScale: 0.1f);

        var adapted = AdapterInjector.InjectWithInitializers(baseModel, Method, targets, values).Model;
        var merged = AdapterMerger.Merge(baseModel, Method.ComputeFactors(plan, values));

        CollectionAssert.AreEquivalent(baseModel.Graph.Node.Select(n => n.OpType).ToList(), merged.Graph.Node.Select(n => n.OpType).ToList(), "op multiset");
        CollectionAssert.AreEqual(baseModel.Graph.Node.Select(n => n.ToString()).ToList(), merged.Graph.Node.Select(n => n.ToString()).ToList(), "same nodes");
        CollectionAssert.AreEqual(
            baseModel.Graph.Initializer.Select(t => $"{t.Name}:[{string.Join(",", t.Dims)}]").ToList(),
            merged.Graph.Initializer.Select(t => $"{t.Name}:[{string.Join(",", t.Dims)}]").ToList(), "initializer names and shapes");
        var batch = RealModel.Batch(RealModel.EightSentences);
        var fromBase = OrtRunner.Run(baseModel, batch, "last_hidden_state")["last_hidden_state"];
        var fromAdapted = OrtRunner.Run(adapted, batch, "last_hidden_state")["last_hidden_state"];
        var fromMerged = OrtRunner.Run(merged, batch, "last_hidden_state")["last_hidden_state"];
        float mergeDiff = OrtRunner.MaxAbsDiff(fromAdapted, fromMerged), adapterEffect = OrtRunner.MaxAbsDiff(fromBase, fromAdapted);
        TestContext.WriteLine($"max |adapted - merged| = {mergeDiff:g3}; max |base - adapted| = {adapterEffect:g3}");
        Assert.IsLessThanOrEqualTo(1e-4f, mergeDiff, "merged matches adapted");
        Assert.IsGreaterThan(1e-2f, adapterEffect, "the adapter changes the output noticeably");
    }

    [TestMethod]
    public void Inject_OnMiniLmWithZeroBank_OutputEqualsBase()
    {
        var (baseModel, targets) = QueryValue();
        var values = Method.InitialValues(Method.Plan(targets)).ToDictionary();
        values[VbLoraNames.VectorBank] = new float[values[VbLoraNames.VectorBank].Length];

        var adapted = AdapterInjector.InjectWithInitializers(baseModel, Method, targets, values).Model;

        var batch = RealModel.Batch(RealModel.EightSentences);
        var fromBase = OrtRunner.Run(baseModel, batch, "last_hidden_state")["last_hidden_state"];
        var fromAdapted = OrtRunner.Run(adapted, batch, "last_hidden_state")["last_hidden_state"];
        float diff = OrtRunner.MaxAbsDiff(fromBase, fromAdapted);
        TestContext.WriteLine($"max |base - adapted with zero bank| = {diff:g3}");
        Assert.IsLessThanOrEqualTo(1e-6f, diff);
        Assert.AreEqual(2, adapted.Graph.Node.Count(n => n.OpType == "TopK"), "one TopK for every module's A and one for every B");
    }
}
