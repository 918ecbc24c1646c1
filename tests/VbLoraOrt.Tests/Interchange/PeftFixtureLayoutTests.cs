using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Interchange;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Tests.Peft;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Interchange;

/// <summary>
/// Our export against what PEFT's <c>save_pretrained</c> writes (the fixtures in <c>Peft/Fixtures</c>, written from PEFT's
/// source with the lines they follow named in their README): for MiniLM's query and value under
/// <c>BertForSequenceClassification</c> (prefix <c>bert.</c>), the same <c>adapter_config.json</c> byte for byte, and the
/// key set, dtypes and shapes the README lists for <c>adapter_model.safetensors</c>, spelled out here.
/// </summary>
[TestClass]
public sealed class PeftFixtureLayoutTests
{
    const int Hidden = 384, Layers = 6;

    static readonly LinearModule[] Targets = Enumerable.Range(0, Layers)
        .SelectMany(i => new[] { "query", "value" }.Select(m => new LinearModule(
            $"encoder.layer.{i}.attention.self.{m}", PathSource.BiasName, $"n{i}{m}", "MatMul", Hidden, Hidden, $"w{i}{m}", WeightLayout.InOut,
            $"encoder.layer.{i}.attention.self.{m}.bias", $"x{i}{m}", $"y{i}{m}")))
        .ToArray();

    static IEnumerable<string> Modules => Targets.Select(t => $"base_model.model.bert.{t.Path}");

    public static IEnumerable<object[]> Fixtures =>
    [
        ["lora", new Dictionary<string, object?> { ["rank"] = 8, ["lora-alpha"] = 16.0 }],
        ["vblora", new Dictionary<string, object?> { ["rank"] = 4, ["num-vectors"] = 256, ["vector-length"] = 128, ["topk"] = 2 }],
        ["vera", new Dictionary<string, object?>()],
        ["unilora", new Dictionary<string, object?> { ["rank"] = 4, ["theta-length"] = 4096 }],
    ];

    // The key → (dtype, shape) list of Fixtures/README.md, "Tensor keys the matching adapter_model.safetensors holds".
    static Dictionary<string, (string DType, long[] Shape)> ExpectedKeys(string method)
    {
        var keys = new Dictionary<string, (string, long[])>
        {
            ["base_model.model.classifier.weight"] = ("F32", [2, Hidden]),
            ["base_model.model.classifier.bias"] = ("F32", [2]),
        };
        switch (method)
        {
            case "lora":
                foreach (string m in Modules)
                {
                    keys[$"{m}.lora_A.weight"] = ("F32", [8, Hidden]);
                    keys[$"{m}.lora_B.weight"] = ("F32", [Hidden, 8]);
                }
                break;
            case "vblora":
                keys["base_model.vblora_vector_bank"] = ("F32", [256, 128]);
                foreach (string m in Modules)
                {
                    keys[$"{m}.vblora_logits_A_topk_indices"] = ("I16", [4, Hidden / 128, 2]);   // 256 vectors: int16 (num_vectors < 2**15)
                    keys[$"{m}.vblora_logits_A_topk_weights"] = ("F32", [4, Hidden / 128, 1]);
                    keys[$"{m}.vblora_logits_B_topk_indices"] = ("I16", [Hidden / 128, 4, 2]);
                    keys[$"{m}.vblora_logits_B_topk_weights"] = ("F32", [Hidden / 128, 4, 1]);
                }
                break;
            case "vera":
                keys["base_model.vera_A"] = ("F32", [256, Hidden]);
                keys["base_model.vera_B"] = ("F32", [Hidden, 256]);
                foreach (string m in Modules)
                {
                    keys[$"{m}.vera_lambda_b"] = ("F32", [Hidden]);
                    keys[$"{m}.vera_lambda_d"] = ("F32", [256]);
                }
                break;
            case "unilora":
                keys["base_model.unilora_theta_d"] = ("F32", [4096]);
                break;
        }
        return keys;
    }

    [TestMethod]
    [DynamicData(nameof(Fixtures))]
    public void Export_WritesPeftsConfigAndKeys(string name, Dictionary<string, object?> options)
    {
        var descriptor = AdapterMethods.Find(name);
        var method = descriptor.Create(MethodOptionValues.For(descriptor, options), 42);
        var plan = method.Plan(Targets);
        var values = plan.Parameters.ToDictionary(p => p.Name, p => TinyModels.Random((int)p.ElementCount, 3));
        var head = new PeftHead(PeftHead.Classifier, new float[2 * Hidden], new float[2], 2, Hidden);
        var content = new PeftExportContent(method, plan, values, head, ["query", "value"], "sentence-transformers/all-MiniLM-L6-v2", "bert.");

        var (config, tensors) = PeftExporter.Build(content, new PeftExportOptions { TopKOnly = true });

        Assert.AreEqual(File.ReadAllText(PeftFixtures.Config(name)), AdapterConfigFile.ToJson(config), $"{name}: adapter_config.json as PEFT writes it");
        var expected = ExpectedKeys(name);
        CollectionAssert.AreEquivalent(expected.Keys.ToArray(), tensors.Select(t => t.Name).ToArray(), $"{name}: key set");
        foreach (var t in tensors)
        {
            Assert.AreEqual(expected[t.Name].DType, t.DType, t.Name);
            CollectionAssert.AreEqual(expected[t.Name].Shape, t.Shape, t.Name);
        }
    }
}
