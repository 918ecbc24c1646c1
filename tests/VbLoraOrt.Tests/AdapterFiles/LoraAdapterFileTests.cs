using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.AdapterFiles;

/// <summary>LoRA adapters of the real MiniLM (query, value; r 4, α 8) saved in their stored form and read back.</summary>
[TestClass]
public sealed class LoraAdapterFileTests
{
    static string _folder = null!;
    static ArtifactManifest _manifest = null!;

    [ClassInitialize]
    public static void PrepareOnce(TestContext _)
    {
        _folder = PreparedArtifacts.NewFolder("vblora-lora");
        _manifest = ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = RealModel.ModelPath,
            OutputDirectory = _folder,
            Method = new LoraMethod(new LoraOptions { Rank = 4, Alpha = 8 }),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 3 },
        });
    }

    static Dictionary<string, float[]> TrainedLooking() =>
        _manifest.Trainables.ToDictionary(t => t.Name, t => new SeededRandom(11, t.Name).Normal(t.ElementCount, 0.2));

    [TestMethod]
    public void Save_ThenLoad_GivesBackTheTrainedValuesUnderPeftKeys()
    {
        var values = TrainedLooking();
        string path = Path.Combine(PreparedArtifacts.NewFolder("vblora-lora-file"), "adapter.safetensors");

        var summary = AdapterFile.Save(path, _manifest, values);
        var loaded = AdapterFile.Load(path);
        var keys = SafetensorsFile.Read(path).Tensors.Select(t => t.Name).ToHashSet();

        Assert.AreEqual("lora", loaded.Method);
        Assert.IsTrue(loaded.TrainableAgain, "LoRA stores the trained values themselves");
        foreach (var t in _manifest.Trainables)
            CollectionAssert.AreEqual(values[t.Name], loaded.Parameters[t.Name], t.Name);
        foreach (var target in _manifest.Targets)
        {
            Assert.Contains($"base_model.model.{target.Path}.lora_A.weight", keys);
            Assert.Contains($"base_model.model.{target.Path}.lora_B.weight", keys);
        }
        Assert.AreEqual(12 * 4 * (384 + 384), summary.StoredParameterCount);
        Assert.AreEqual(_manifest.Counts.AdapterStored, summary.StoredParameterCount);
    }

    [TestMethod]
    public void Load_WhenAValueIsNotFinite_ThrowsNamingTheTensor()
    {
        var values = TrainedLooking();
        string path = Path.Combine(PreparedArtifacts.NewFolder("vblora-lora-nan"), "adapter.safetensors");
        AdapterFile.Save(path, _manifest, values);
        // Overwrite one float of the first B tensor with NaN, in place.
        var (tensors, metadata) = SafetensorsFile.Read(path);
        var b = tensors.First(t => t.Name.EndsWith(".lora_B.weight", StringComparison.Ordinal));
        BitConverter.GetBytes(float.NaN).CopyTo(b.Data, 8);
        SafetensorsFile.Write(path, tensors, metadata);

        var e = Assert.ThrowsExactly<BadInputException>(() => AdapterFile.Load(path));
        StringAssert.Contains(e.Message, b.Name);
    }
}
