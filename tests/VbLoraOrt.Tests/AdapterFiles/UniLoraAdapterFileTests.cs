using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Methods.UniLora;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.AdapterFiles;

/// <summary>Uni-LoRA adapters of the real MiniLM (query, value; d 2048, r 4): θ and the head are the whole file.</summary>
[TestClass]
public sealed class UniLoraAdapterFileTests
{
    static ArtifactManifest _manifest = null!;

    [ClassInitialize]
    public static void PrepareOnce(TestContext _) =>
        _manifest = ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = RealModel.ModelPath,
            OutputDirectory = PreparedArtifacts.NewFolder("vblora-unilora"),
            Method = new UniLoraMethod(new UniLoraOptions { ThetaLength = 2048, Rank = 4 }),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 2 },
        });

    [TestMethod]
    public void Save_ThenLoad_GivesBackThetaAndHead_AndTheFileIsKilobytes()
    {
        var values = _manifest.Trainables.ToDictionary(t => t.Name, t => new SeededRandom(3, t.Name).Normal(t.ElementCount, 0.1));
        string path = Path.Combine(PreparedArtifacts.NewFolder("vblora-unilora-file"), "adapter.safetensors");

        var summary = AdapterFile.Save(path, _manifest, values);
        var loaded = AdapterFile.Load(path);

        CollectionAssert.AreEquivalent(new[] { "base_model.unilora_theta_d", "head.classifier.weight", "head.classifier.bias" },
            SafetensorsFile.Read(path).Tensors.Select(t => t.Name).ToArray());
        foreach (var t in _manifest.Trainables)
            CollectionAssert.AreEqual(values[t.Name], loaded.Parameters[t.Name], t.Name);
        Assert.IsTrue(loaded.TrainableAgain);
        Assert.AreEqual(2048, summary.StoredParameterCount);
        Assert.IsLessThan(20_000, summary.FileBytes, "2048 + 770 floats and the metadata");
    }
}
