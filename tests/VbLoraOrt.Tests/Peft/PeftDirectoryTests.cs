using VbLoraOrt.Adapters.Interchange;
using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Methods.Vera;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Peft;

/// <summary>The adapter directory: both files written as PEFT writes them and read back; problems name the file.</summary>
[TestClass]
public sealed class PeftDirectoryTests
{
    string _directory = "";

    [TestInitialize]
    public void CreateDirectory() => _directory = Path.Combine(Path.GetTempPath(), $"peft-dir-{Guid.NewGuid():N}");

    [TestCleanup]
    public void DeleteDirectory()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    [TestMethod]
    public void Write_ThenRead_RoundTripsConfigAndTensors()
    {
        var config = AdapterConfig.Create(VeraPeft.Layout).SetTargetModules(["query", "value"]).Set("r", 2);
        var lambdaB = SafeTensor.F32(VeraNames.StoredLambdaB("q"), [3], [0.5f, 0f, -1f]);
        var lambdaD = SafeTensor.F32(VeraNames.StoredLambdaD("q"), [2], [0.1f, 0.1f]);

        PeftDirectory.Write(_directory, config, [lambdaB, lambdaD]);
        var (read, tensors) = PeftDirectory.Read(_directory);

        Assert.AreEqual(AdapterConfigFile.ToJson(config), File.ReadAllText(Path.Combine(_directory, "adapter_config.json")));
        Assert.AreEqual(2, read.Rank);
        CollectionAssert.AreEqual(new[] { 0.5f, 0f, -1f }, tensors.Single(t => t.Name == lambdaB.Name).Floats());
        var (_, metadata) = SafetensorsFile.Read(Path.Combine(_directory, "adapter_model.safetensors"));
        Assert.AreEqual("pt", metadata["format"]);
    }

    [TestMethod]
    public void Write_WhenKeysRepeat_WritesNothing()
    {
        var t = SafeTensor.F32("k", [1], [1f]);

        Assert.ThrowsExactly<ArgumentException>(() => PeftDirectory.Write(_directory, AdapterConfig.Create(LoraPeft.Layout).SetTargetModules(["q"]), [t, t]));
        Assert.IsFalse(Directory.Exists(_directory));
    }

    [TestMethod]
    public void Read_WhenWeightsMissing_ThrowsNamingFile()
    {
        Directory.CreateDirectory(_directory);
        File.Copy(PeftFixtures.Config("lora"), Path.Combine(_directory, "adapter_config.json"));

        var e = Assert.ThrowsExactly<PeftFormatException>(() => PeftDirectory.Read(_directory));

        StringAssert.Contains(e.Message, "adapter_model.safetensors");
    }

    [TestMethod]
    public void Read_WhenSafetensorsHeaderCorrupt_ThrowsBadInputNamingFile()
    {
        Directory.CreateDirectory(_directory);
        File.Copy(PeftFixtures.Config("lora"), Path.Combine(_directory, "adapter_config.json"));
        string weights = Path.Combine(_directory, "adapter_model.safetensors");
        File.WriteAllBytes(weights, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, (byte)'{']);

        var e = Assert.ThrowsExactly<BadInputException>(() => PeftDirectory.Read(_directory));

        StringAssert.Contains(e.Message, weights);
    }

    [TestMethod]
    public void Read_WhenNotADirectory_Throws()
    {
        StringAssert.Contains(Assert.ThrowsExactly<PeftFormatException>(() => PeftDirectory.Read(_directory)).Message, _directory);
    }
}
