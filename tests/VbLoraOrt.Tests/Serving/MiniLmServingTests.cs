using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.Tests.AdapterFiles;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Serving;

/// <summary>
/// VB-LoRA on all-MiniLM-L6-v2 (query and value, 3-label head): the exported serving folder with the run's adapter as
/// <c>.onnx_adapter</c>, loaded by ONNX Runtime's <see cref="OrtLoraAdapter"/>, gives the merged model's logits on eight
/// real sentences.
/// </summary>
[TestClass]
public sealed class MiniLmServingTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void ServingFolder_WithOnnxAdapter_MatchesMergedModel()
    {
        using var artifacts = MiniLmArtifacts.Prepare();
        var trained = MiniLmArtifacts.TrainedLooking(artifacts.Manifest);
        string servingDir = artifacts.NewPath("serving"), merged = artifacts.NewPath("merged.onnx"), adapterPath = artifacts.NewPath("user.onnx_adapter");

        var manifest = ServingExporter.Export(artifacts.Directory, artifacts.Manifest, servingDir);
        ServingAdapter.Write(adapterPath, ServingAdapter.Create(artifacts.Manifest, trained));
        MergedModelExporter.Export(artifacts.Directory, artifacts.Manifest, trained, merged);

        var batch = RealModel.Batch(RealModel.EightSentences);
        var fromMerged = OrtRunner.RunFile(merged, batch, ArtifactNames.Logits)[ArtifactNames.Logits];
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 2 };
        using var session = new InferenceSession(Path.Combine(servingDir, ServingManifest.ModelFileName), options);
        using var adapter = OrtLoraAdapter.Create(adapterPath, null);
        using var run = new RunOptions();
        run.AddActiveLoraAdapter(adapter);
        var names = manifest.RequestInputs.ToArray();
        var values = names.Select(n =>
        {
            var tensor = (DenseTensor<long>)batch[n];
            return OrtValue.CreateTensorValueFromMemory(tensor.Buffer.ToArray(), tensor.Dimensions.ToArray().Select(d => (long)d).ToArray());
        }).ToArray();
        using var results = session.Run(run, names, values, [manifest.OutputName]);
        float[] served = results[0].GetTensorDataAsSpan<float>().ToArray();
        foreach (var v in values)
            v.Dispose();

        float diff = TinyServing.MaxAbsDiff(fromMerged.ToArray(), served);
        TestContext.WriteLine($"MiniLM VB-LoRA: max |serving + onnx_adapter - merged| = {diff:g3}; adapter file {new FileInfo(adapterPath).Length} bytes");
        Assert.IsLessThanOrEqualTo(1e-4f, diff);
        CollectionAssert.AreEqual(new[] { "input_ids", "attention_mask", "token_type_ids" }, manifest.RequestInputs.ToArray());
    }
}
