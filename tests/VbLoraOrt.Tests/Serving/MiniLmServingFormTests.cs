using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Tests.Contract;
using VbLoraOrt.Tests.OnnxAdapters;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Serving;

/// <summary>
/// Every registered method at its defaults on all-MiniLM-L6-v2's query and value (DESIGN.md §7.1.1): the serving model
/// switches every target between the activation form and the weight form on the request's token count; both branches,
/// fed a trained-looking adapter through ONNX Runtime's <see cref="OrtLoraAdapter"/>, give the merged model's logits.
/// VeRA's rank 256 is the case the switch is for; VB-LoRA's composition is shared by all targets.
/// </summary>
[TestClass]
public sealed class MiniLmServingFormTests
{
    public TestContext TestContext { get; set; } = null!;

    public static IEnumerable<object[]> Methods => AdapterMethods.Names.Select(n => new object[] { n });

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void Switch_BelowAndAboveTheCrossover_MatchesMergedModel(string name)
    {
        var encoder = OnnxModel.Load(RealModel.ModelPath);
        var spec = TargetSpec.FromNames(["query", "value"]);
        var targets = LinearModuleFinder.Find(encoder).Where(t => spec.Matches(t.Path)).ToList();
        var method = AdapterMethods.Find(name).CreateDefault();
        var info = new BaseModelInfo("model.onnx", new string('0', 64), encoder.Opset, "last_hidden_state", 384);
        var serving = ServingModelBuilder.Build(encoder, method, targets, TinyServing.Task, info);
        Assert.AreEqual(targets.Count, serving.Model.Graph.Node.Count(n => n.OpType == "If"), "the default switches every target");
        var values = TinyServing.Values(serving, seed: 3);
        // Trained-looking values scaled so that ΔW is of the weights' size (MethodContractTests.Entry).
        if (MethodContractTests.Methods[name].MiniLmServingValueScale is var scale and not 1f)
            foreach (var p in serving.Plan.Parameters)
                values[p.Name] = values[p.Name].Select(v => v * scale).ToArray();
        using var session = OrtLoraAdapterTests.NewSession(serving.Model);
        using var adapter = OrtLoraAdapter.Create(OnnxAdapterFile.ToBytes(TinyServing.Adapter(method, serving, values)), null);
        using var run = new RunOptions();
        run.AddActiveLoraAdapter(adapter);
        using var merged = OrtLoraAdapterTests.NewSession(TinyServing.Merged(encoder, info, method, serving, values));
        using var plain = new RunOptions();

        var zeroUpdate = method.ZeroUpdate(serving.Plan, serving.Plan.Parameters.ToDictionary(p => p.Name, p => values[p.Name])).ToDictionary();
        foreach (var t in serving.Head)
            zeroUpdate[t.Name] = values[t.Name];
        using var headOnly = OrtLoraAdapterTests.NewSession(TinyServing.Merged(encoder, info, method, serving, zeroUpdate));

        long[] longRow = [101, .. Enumerable.Repeat(RealModel.EightSentences[0][1..^1], 30).SelectMany(r => r), 102];
        long crossover = ServingWiring.CrossoverTokens(targets[0]);
        foreach (long[][] ids in new[] { RealModel.EightSentences, [.. RealModel.EightSentences, longRow] })
        {
            long tokens = ids.Length * ids.Max(r => r.Length);
            float[] reference = Logits(merged, plain, ids);
            float diff = TinyServing.MaxAbsDiff(reference, Logits(session, run, ids));
            TestContext.WriteLine($"{name}: {tokens} tokens ({(tokens > crossover ? "weight" : "activation")} form): max |serving - merged| = {diff:g3}; max |logit| {reference.Max(Math.Abs):g3}");
            Assert.IsLessThanOrEqualTo(1e-4f, diff);
            Assert.IsGreaterThan(1e-2f, TinyServing.MaxAbsDiff(reference, Logits(headOnly, plain, ids)), "the adapter changes the logits noticeably");
        }
    }

    static float[] Logits(InferenceSession session, RunOptions run, long[][] ids)
    {
        var batch = RealModel.Batch(ids);
        string[] names = ["input_ids", "attention_mask", "token_type_ids"];
        var inputs = names.Select(n =>
        {
            var tensor = (DenseTensor<long>)batch[n];
            return OrtValue.CreateTensorValueFromMemory(tensor.Buffer.ToArray(), tensor.Dimensions.ToArray().Select(d => (long)d).ToArray());
        }).ToArray();
        return TinyServing.Logits(session, run, names, inputs);
    }
}
