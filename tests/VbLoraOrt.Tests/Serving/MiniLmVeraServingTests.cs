using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Tests.OnnxAdapters;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Serving;

/// <summary>
/// VeRA at its default rank 256 on all-MiniLM-L6-v2's query and value (DESIGN.md §7.1.1): the serving model switches
/// every target between the activation form and the weight form on the request's token count; both branches, fed
/// through ONNX Runtime's <see cref="OrtLoraAdapter"/>, give the merged model's logits.
/// </summary>
[TestClass]
public sealed class MiniLmVeraServingTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void VeraSwitch_BelowAndAboveTheCrossover_MatchesMergedModel()
    {
        var encoder = OnnxModel.Load(RealModel.ModelPath);
        var spec = TargetSpec.FromNames(["query", "value"]);
        var targets = LinearModuleFinder.Find(encoder).Where(t => spec.Matches(t.Path)).ToList();
        var method = AdapterMethods.Find("vera").CreateDefault();
        var info = new BaseModelInfo("model.onnx", new string('0', 64), encoder.Opset, "last_hidden_state", 384);
        var serving = ServingModelBuilder.Build(encoder, method, targets, TinyServing.Task, info);
        Assert.AreEqual(targets.Count, serving.Model.Graph.Node.Count(n => n.OpType == "If"), "the default switches every target");
        var values = TinyServing.Values(serving, seed: 3);
        using var session = OrtLoraAdapterTests.NewSession(serving.Model);
        using var adapter = OrtLoraAdapter.Create(OnnxAdapterFile.ToBytes(TinyServing.Adapter(method, serving, values)), null);
        using var run = new RunOptions();
        run.AddActiveLoraAdapter(adapter);
        using var merged = OrtLoraAdapterTests.NewSession(TinyServing.Merged(encoder, info, method, serving, values));
        using var plain = new RunOptions();

        long[] longRow = [101, .. Enumerable.Repeat(RealModel.EightSentences[0][1..^1], 30).SelectMany(r => r), 102];
        long crossover = ServingWiring.CrossoverTokens(targets[0]);
        foreach (long[][] ids in new[] { RealModel.EightSentences, [.. RealModel.EightSentences, longRow] })
        {
            long tokens = ids.Length * ids.Max(r => r.Length);
            float diff = TinyServing.MaxAbsDiff(Logits(merged, plain, ids), Logits(session, run, ids));
            TestContext.WriteLine($"{tokens} tokens ({(tokens > crossover ? "weight" : "activation")} form): max |serving - merged| = {diff:g3}");
            Assert.IsLessThanOrEqualTo(1e-4f, diff);
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
        try
        {
            using var results = session.Run(run, names, inputs, [ArtifactNames.Logits]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in inputs)
                v.Dispose();
        }
    }
}
