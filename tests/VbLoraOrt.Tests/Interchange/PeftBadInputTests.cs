using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;
using static VbLoraOrt.Tests.Interchange.PeftHandWritten;

namespace VbLoraOrt.Tests.Interchange;

/// <summary>
/// A PEFT directory that does not fit: each problem is bad input naming the field, key or module, and no merged model
/// is written.
/// </summary>
[TestClass]
public sealed class PeftBadInputTests
{
    string _directory = "";

    [TestInitialize]
    public void CreateDirectory() => _directory = Path.Combine(Path.GetTempPath(), $"peft-bad-{Guid.NewGuid():N}");

    [TestCleanup]
    public void DeleteDirectory()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    string Peft => Path.Combine(_directory, "adapter");

    static readonly string LoraConfig = Config("LORA", "[\"layer1\", \"layer2\"]", "\"r\": 2", "\"lora_alpha\": 4");

    static List<SafeTensor> LoraTensors(int layer1In = 8) =>
    [
        SafeTensor.F32("base_model.model.layer1.lora_A.weight", [2, layer1In], TinyModels.Random(2 * layer1In, 1)),
        SafeTensor.F32("base_model.model.layer1.lora_B.weight", [16, 2], TinyModels.Random(32, 2)),
        SafeTensor.F32("base_model.model.layer2.lora_A.weight", [2, 16], TinyModels.Random(32, 3)),
        SafeTensor.F32("base_model.model.layer2.lora_B.weight", [8, 2], TinyModels.Random(16, 4)),
    ];

    // Merges Peft into the tiny MLP; returns the error's message after checking nothing was written.
    string Refused()
    {
        string model = Path.Combine(_directory, "tiny.onnx"), merged = Path.Combine(_directory, "merged.onnx");
        TinyModels.TwoLayerMlp(8, 16, 8).Save(model);
        var before = Directory.GetFiles(_directory);
        var e = Assert.Throws<BadInputException>(() => PeftMerge.Run(model, Peft, merged, new PeftHeadOptions()));
        CollectionAssert.AreEquivalent(before, Directory.GetFiles(_directory), "nothing written");
        return e.Message;
    }

    [TestMethod]
    public void ModulePathNotInTheModel_NamesTheModuleAndKey()
    {
        Write(Peft, LoraConfig, [.. LoraTensors(), SafeTensor.F32("base_model.model.encoder.fc9.lora_A.weight", [2, 8], new float[16])]);
        string message = Refused();
        Assert.Contains("'encoder.fc9'", message);
        Assert.Contains("base_model.model.encoder.fc9.lora_A.weight", message);
    }

    [TestMethod]
    public void ShapeThatDoesNotFit_NamesTheKeyAndBothShapes()
    {
        Write(Peft, LoraConfig, LoraTensors(layer1In: 12));
        string message = Refused();
        Assert.Contains("base_model.model.layer1.lora_A.weight", message);
        Assert.Contains("[2,12]", message);
        Assert.Contains("[2,8]", message);
    }

    [TestMethod]
    public void UnknownPeftType_NamesIt()
    {
        Write(Peft, Config("IA3", "[\"layer1\"]"), LoraTensors());
        StringAssert.Contains(Refused(), "'IA3'");
    }

    [TestMethod]
    public void MissingRequiredField_NamesIt()
    {
        Write(Peft, Config("LORA", "[\"layer1\", \"layer2\"]", "\"lora_alpha\": 4"), LoraTensors());
        StringAssert.Contains(Refused(), "'r'");
    }

    [TestMethod]
    public void UnsupportedVariant_NamesTheField()
    {
        Write(Peft, Config("LORA", "[\"layer1\", \"layer2\"]", "\"r\": 2", "\"lora_alpha\": 4", "\"use_dora\": true"), LoraTensors());
        StringAssert.Contains(Refused(), "'use_dora'");
    }

    [TestMethod]
    public void CorruptSafetensorsHeader_NamesTheFile()
    {
        Write(Peft, LoraConfig, LoraTensors());
        string weights = Path.Combine(Peft, PeftKeys.WeightsFileName);
        var bytes = File.ReadAllBytes(weights);
        bytes[10] = (byte)'}';                          // inside the JSON header
        File.WriteAllBytes(weights, bytes);
        StringAssert.Contains(Refused(), PeftKeys.WeightsFileName);
    }

    [TestMethod]
    public void KeyTheConfigDoesNotExplain_NamesTheKey()
    {
        Write(Peft, LoraConfig, [.. LoraTensors(), SafeTensor.F32("base_model.vera_A", [2, 8], new float[16])]);
        StringAssert.Contains(Refused(), "'base_model.vera_A'");
    }

    [TestMethod]
    public void ModuleTargetModulesDoesNotSelect_NamesTheModule()
    {
        Write(Peft, Config("LORA", "[\"layer1\"]", "\"r\": 2", "\"lora_alpha\": 4"), LoraTensors());
        string message = Refused();
        Assert.Contains("'layer2'", message);
        Assert.Contains("target_modules", message);
    }

    [TestMethod]
    public void TargetModulesSelectingNothing_NamesTheFieldAndTheModules()
    {
        Write(Peft, Config("UNILORA", "[\"query\"]", "\"r\": 2", "\"proj_seed\": 1", "\"theta_d_length\": 10"),
            [SafeTensor.F32("base_model.unilora_theta_d", [10], new float[10])]);
        string message = Refused();
        Assert.Contains("target_modules", message);
        Assert.Contains("layer1", message);
    }

    [TestMethod]
    public void VbLoraTopKIndexOfTheWrongDtype_NamesTheKey()
    {
        // 6 vectors: PEFT saves uint8 indices; int16 ones were not written by PEFT for this config.
        var tensors = new List<SafeTensor> { SafeTensor.F32("base_model.vblora_vector_bank", [6, 4], TinyModels.Random(24, 1)) };
        foreach (var (path, input, output) in new[] { ("layer1", 8, 16), ("layer2", 16, 8) })
        {
            tensors.Add(I16($"base_model.model.{path}.vblora_logits_A_topk_indices", [2, input / 4, 2], Enumerable.Repeat(new[] { 0, 1 }, 2 * input / 4).SelectMany(x => x)));
            tensors.Add(SafeTensor.F32($"base_model.model.{path}.vblora_logits_A_topk_weights", [2, input / 4, 1], Enumerable.Repeat(0.5f, 2 * input / 4).ToArray()));
            tensors.Add(I16($"base_model.model.{path}.vblora_logits_B_topk_indices", [output / 4, 2, 2], Enumerable.Repeat(new[] { 0, 1 }, 2 * output / 4).SelectMany(x => x)));
            tensors.Add(SafeTensor.F32($"base_model.model.{path}.vblora_logits_B_topk_weights", [output / 4, 2, 1], Enumerable.Repeat(0.5f, 2 * output / 4).ToArray()));
        }
        Write(Peft, Config("VBLORA", "[\"layer1\", \"layer2\"]", "\"r\": 2", "\"num_vectors\": 6", "\"vector_length\": 4", "\"topk\": 2", "\"save_only_topk_weights\": true"), tensors);
        string message = Refused();
        Assert.Contains("vblora_logits_A_topk_indices", message);
        Assert.Contains("U8", message);
    }
}
