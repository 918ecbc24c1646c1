using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.Tests.OnnxAdapters;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Serving;

/// <summary>
/// The serving model of every registered method on a tiny encoder: with an adapter written as <c>.onnx_adapter</c> and
/// loaded by ONNX Runtime's own <see cref="OrtLoraAdapter"/>, it gives the merged model's logits (the reference: the
/// factors computed in C# from the trained values and folded into the weights); without one, the zero update.
/// </summary>
[TestClass]
public sealed class ServingModelTests
{
    const float Tolerance = 1e-4f;
    static readonly long[][] Ids = [[2, 4, 5, 3], [2, 6, 7, 8, 9, 3], [2, 10, 3]];

    public TestContext TestContext { get; set; } = null!;

    public static IEnumerable<object[]> Methods => AdapterMethods.Names.Select(n => new object[] { n });

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void ServingModel_WithOnnxAdapterThroughOrt_MatchesMergedModel(string name)
    {
        var method = TinyServing.Method(name);
        var serving = TinyServing.Build(method);
        var values = TinyServing.Values(serving, seed: 5);
        string folder = PreparedArtifacts.NewFolder("vblora-serving-adapter");
        string path = Path.Combine(folder, $"{name}.onnx_adapter");
        ServingAdapter.Write(path, TinyServing.Adapter(method, serving, values));

        using var session = OrtLoraAdapterTests.NewSession(serving.Model);
        using var adapter = OrtLoraAdapter.Create(path, null);
        using var options = new RunOptions();
        options.AddActiveLoraAdapter(adapter);
        float[] fromServing = TinyServing.Logits(session, options, Ids);
        using var merged = OrtLoraAdapterTests.NewSession(TinyServing.Merged(method, serving, values));
        using var plain = new RunOptions();
        float[] fromMerged = TinyServing.Logits(merged, plain, Ids);
        var noAdapterValues = method.ZeroUpdate(serving.Plan, serving.Plan.Parameters.ToDictionary(p => p.Name, p => values[p.Name])).ToDictionary();
        foreach (var t in serving.Head)
            noAdapterValues[t.Name] = values[t.Name];
        using var headOnly = OrtLoraAdapterTests.NewSession(TinyServing.Merged(method, serving, noAdapterValues));
        float[] fromHeadOnly = TinyServing.Logits(headOnly, plain, Ids);

        float diff = TinyServing.MaxAbsDiff(fromMerged, fromServing), effect = TinyServing.MaxAbsDiff(fromHeadOnly, fromMerged);
        TestContext.WriteLine($"{name}: max |serving - merged| = {diff:g3}; adapter effect {effect:g3}; {serving.AdapterInputs.Count} adapter inputs");
        Assert.IsLessThanOrEqualTo(Tolerance, diff, "serving model + adapter = merged model");
        Assert.IsGreaterThan(1e-2f, effect, "the adapter changes the logits noticeably");
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void ServingModel_WithoutAdapter_IsTheZeroUpdateWithZeroHead(string name)
    {
        var serving = TinyServing.Build(TinyServing.Method(name));

        using var session = OrtLoraAdapterTests.NewSession(serving.Model);
        using var none = new RunOptions();
        float[] logits = TinyServing.Logits(session, none, Ids);

        CollectionAssert.AreEqual(new float[Ids.Length * TinyServing.Labels], logits, "a zero head gives zero logits");
        CollectionAssert.AreEqual(new[] { "input_ids", "attention_mask" }, serving.RequestInputs.ToArray());
        CollectionAssert.AreEqual(serving.AdapterInputs.ToArray(),
            serving.Model.Graph.Input.Skip(2).Select(i => i.Name).ToArray(), "every adapter input is a graph input");
        var initializers = serving.Model.Graph.Initializer.Select(t => t.Name).ToHashSet();
        Assert.IsTrue(serving.AdapterInputs.All(initializers.Contains), "every adapter input has a default");
    }

    [TestMethod]
    public void VbLoraServingModel_TakesTheStoredTopKForm()
    {
        var method = TinyServing.Method("vblora");
        var serving = TinyServing.Build(method);
        var adapter = TinyServing.Adapter(method, serving, TinyServing.Values(serving, seed: 9));

        var types = adapter.Parameters.ToDictionary(p => p.Name, p => p.DataType);
        Assert.AreEqual((int)global::Onnx.TensorProto.Types.DataType.Float, types["base_model.vblora_vector_bank"]);
        var indices = adapter.Parameters.Where(p => p.Name.EndsWith("_topk_indices", StringComparison.Ordinal)).ToList();
        var weights = adapter.Parameters.Where(p => p.Name.EndsWith("_topk_weights", StringComparison.Ordinal)).ToList();
        Assert.HasCount(4, indices, "A and B of two targets");
        Assert.HasCount(4, weights);
        Assert.IsTrue(indices.All(p => p.DataType == (int)global::Onnx.TensorProto.Types.DataType.Uint8 && p.Dims[^1] == 2), "uint8 indices, k = 2");
        Assert.IsTrue(weights.All(p => p.Dims[^1] == 1), "k − 1 = 1 weight per sub-vector");
        Assert.IsFalse(adapter.Parameters.Any(p => p.Name.Contains("logits", StringComparison.Ordinal) && p.DataType == 1 && p.Dims[^1] == 6),
            "no full logits");
    }

}
