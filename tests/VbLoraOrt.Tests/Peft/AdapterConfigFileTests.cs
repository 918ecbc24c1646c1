using System.Text;
using System.Text.Json.Nodes;
using VbLoraOrt.Adapters.Interchange;
using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Methods.UniLora;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Methods.Vera;
using VbLoraOrt.Adapters.Peft;

namespace VbLoraOrt.Tests.Peft;

/// <summary>
/// <c>adapter_config.json</c> against the fixtures written from PEFT's source (<c>Fixtures/README.md</c>): our writer
/// produces their key set and values (and their bytes), and the reader reads them back and refuses broken configs
/// naming the field.
/// </summary>
[TestClass]
public sealed class AdapterConfigFileTests
{
    static readonly string[] Targets = ["query", "value"];
    static readonly string[] Head = ["classifier", "score"];

    // The configs the fixtures' README says PEFT was given, built with our model from PEFT's defaults.
    static AdapterConfig Expected(string method)
    {
        var config = method switch
        {
            "lora" => AdapterConfig.Create(LoraPeft.Layout).Set("r", 8).Set("lora_alpha", 16),
            "vblora" => AdapterConfig.Create(VbLoraPeft.Layout).Set("vector_length", 128).Set("save_only_topk_weights", true),
            "vera" => AdapterConfig.Create(VeraPeft.Layout),
            "unilora" => AdapterConfig.Create(UniLoraPeft.Layout).Set("theta_d_length", 4096),
            _ => throw new ArgumentException(method),
        };
        return config.SetTargetModules(Targets)
            .Set("task_type", "SEQ_CLS")
            .Set("base_model_name_or_path", "sentence-transformers/all-MiniLM-L6-v2")
            .Set("modules_to_save", new JsonArray(Head.Select(h => (JsonNode?)h).ToArray()));
    }

    [TestMethod]
    [DataRow("lora")]
    [DataRow("vblora")]
    [DataRow("vera")]
    [DataRow("unilora")]
    public void ToJson_MatchesFixtureKeySetAndValues(string method)
    {
        var fixture = JsonNode.Parse(File.ReadAllText(PeftFixtures.Config(method)))!.AsObject();
        var written = JsonNode.Parse(AdapterConfigFile.ToJson(Expected(method)))!.AsObject();

        CollectionAssert.AreEqual(fixture.Select(kv => kv.Key).ToArray(), written.Select(kv => kv.Key).ToArray(), "key set and order");
        foreach (var (key, value) in fixture)
            Assert.IsTrue(JsonNode.DeepEquals(value, written[key]), $"{key}: fixture {value?.ToJsonString()}, written {written[key]?.ToJsonString()}");
    }

    [TestMethod]
    [DataRow("lora")]
    [DataRow("vblora")]
    [DataRow("vera")]
    [DataRow("unilora")]
    public void ToJson_MatchesFixtureBytes(string method)
    {
        // The fixtures' layout comes from CPython's json.dumps(indent=2, sort_keys=True); target lists in the same order.
        Assert.AreEqual(File.ReadAllText(PeftFixtures.Config(method)), AdapterConfigFile.ToJson(Expected(method)));
    }

    [TestMethod]
    public void Read_LoraFixture_GivesPeftValues()
    {
        var config = AdapterConfigFile.Read(PeftFixtures.Config("lora"));

        Assert.AreEqual(LoraPeft.Type, config.PeftType);
        Assert.AreEqual(8, config.Rank);
        Assert.AreEqual(16.0, config.GetNumber("lora_alpha"));
        Assert.AreEqual("SEQ_CLS", config.TaskType);
        CollectionAssert.AreEquivalent(Targets, config.TargetModuleNames!.ToArray());
        CollectionAssert.AreEqual(Head, config.ModulesToSave!.ToArray());
        Assert.IsNull(config.TargetModulesPattern);
        Assert.AreEqual(0, config.UnknownFields.Count);
    }

    [TestMethod]
    public void Read_VbLoraFixture_GivesPeftValues()
    {
        var config = AdapterConfigFile.Read(PeftFixtures.Config("vblora"));

        Assert.AreEqual((4, 256, 128, 2), (config.Rank, config.GetInt("num_vectors"), config.GetInt("vector_length"), config.GetInt("topk")));
        Assert.IsTrue(config.GetBool("save_only_topk_weights"));
        Assert.AreEqual(0.1, config.GetNumber("init_logits_std"));
    }

    [TestMethod]
    public void Read_VeraFixture_GivesPeftValues()
    {
        var config = AdapterConfigFile.Read(PeftFixtures.Config("vera"));

        Assert.AreEqual(256, config.Rank);
        Assert.AreEqual(0, config.GetInt("projection_prng_key"));
        Assert.IsTrue(config.GetBool("save_projection"));
        Assert.AreEqual(0.1, config.GetNumber("d_initial"));
    }

    [TestMethod]
    public void Read_UniLoraFixture_GivesPeftValues()
    {
        var config = AdapterConfigFile.Read(PeftFixtures.Config("unilora"));

        Assert.AreEqual((4, 42, 4096), (config.Rank, config.GetInt("proj_seed"), config.GetInt("theta_d_length")));
        Assert.AreEqual("0.20.0", config.GetText("peft_version"));
    }

    [TestMethod]
    public void Read_ThenWrite_ReproducesFixture()
    {
        foreach (var method in new[] { "lora", "vblora", "vera", "unilora" })
            Assert.AreEqual(File.ReadAllText(PeftFixtures.Config(method)), AdapterConfigFile.ToJson(AdapterConfigFile.Read(PeftFixtures.Config(method))), method);
    }

    [TestMethod]
    public void Parse_WhenUnknownFieldsPresent_KeepsThemAsideAndDoesNotWriteThem()
    {
        var json = Fixture("vera");
        json["future_option"] = 3;

        var config = Parse(json);

        Assert.AreEqual(3, config.UnknownFields["future_option"]!.GetValue<int>());
        Assert.IsFalse(AdapterConfigFile.ToJson(config).Contains("future_option", StringComparison.Ordinal));
    }

    [TestMethod]
    public void Parse_WhenOptionalFieldsMissing_UsesPeftDefaults()
    {
        var json = Fixture("vblora");
        json.Remove("init_logits_std");
        json.Remove("peft_version");      // files from PEFT before 0.18 have none

        var config = Parse(json);

        Assert.AreEqual(0.1, config.GetNumber("init_logits_std"));
        Assert.AreEqual(PeftLayout.FollowedPeftVersion, config.GetText("peft_version"));
    }

    [TestMethod]
    [DataRow("vblora", "num_vectors")]
    [DataRow("vblora", "save_only_topk_weights")]
    [DataRow("lora", "lora_alpha")]
    [DataRow("lora", "r")]
    [DataRow("vera", "projection_prng_key")]
    [DataRow("unilora", "theta_d_length")]
    [DataRow("unilora", "target_modules")]
    public void Parse_WhenRequiredFieldMissing_ThrowsNamingField(string method, string field)
    {
        var json = Fixture(method);
        json.Remove(field);

        var e = Assert.ThrowsExactly<PeftFormatException>(() => Parse(json));

        StringAssert.Contains(e.Message, $"required field '{field}'");
        StringAssert.Contains(e.Message, "test.json");
    }

    [TestMethod]
    public void Parse_WhenTargetModulesNull_ThrowsNamingField()
    {
        var json = Fixture("lora");
        json["target_modules"] = null;

        var e = Assert.ThrowsExactly<PeftFormatException>(() => Parse(json));

        StringAssert.Contains(e.Message, "'target_modules'");
    }

    [TestMethod]
    [DataRow("ADALORA")]
    [DataRow("vera")]
    public void Parse_WhenPeftTypeUnsupported_ThrowsListingSupported(string peftType)
    {
        var json = Fixture("vera");
        json["peft_type"] = peftType;

        var e = Assert.ThrowsExactly<PeftFormatException>(() => Parse(json));

        StringAssert.Contains(e.Message, $"peft_type '{peftType}'");
        StringAssert.Contains(e.Message, "VBLORA, UNILORA, LORA, VERA");
    }

    [TestMethod]
    public void Parse_WhenPeftTypeMissing_Throws()
    {
        var json = Fixture("lora");
        json.Remove("peft_type");

        StringAssert.Contains(Assert.ThrowsExactly<PeftFormatException>(() => Parse(json)).Message, "'peft_type'");
    }

    [TestMethod]
    [DataRow("r", "\"4\"")]
    [DataRow("r", "4.5")]
    [DataRow("r", "0")]
    [DataRow("save_only_topk_weights", "1")]
    [DataRow("target_modules", "[\"query\", 3]")]
    [DataRow("init_logits_std", "\"0.1\"")]
    public void Parse_WhenFieldHasWrongShape_ThrowsNamingField(string field, string valueJson)
    {
        var json = Fixture("vblora");
        json[field] = JsonNode.Parse(valueJson);

        var e = Assert.ThrowsExactly<PeftFormatException>(() => Parse(json));

        StringAssert.Contains(e.Message, $"'{field}'");
    }

    [TestMethod]
    public void Parse_WhenTopKExceedsNumVectors_Throws()
    {
        var json = Fixture("vblora");
        json["topk"] = 300;

        StringAssert.Contains(Assert.ThrowsExactly<PeftFormatException>(() => Parse(json)).Message, "'topk'");
    }

    [TestMethod]
    [DataRow("not json")]
    [DataRow("[1, 2]")]
    [DataRow("{\"peft_type\": \"LORA\",}")]
    [DataRow("{\"peft_type\": \"LORA\", \"peft_type\": \"VERA\"}")]
    public void Parse_WhenNotOneJsonObject_ThrowsNamingFile(string text)
    {
        var e = Assert.ThrowsExactly<PeftFormatException>(() => AdapterConfigFile.Parse(Encoding.UTF8.GetBytes(text), "test.json"));

        StringAssert.StartsWith(e.Message, "test.json:");
    }

    [TestMethod]
    public void Read_WhenFileMissing_ThrowsNamingFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}", "adapter_config.json");

        StringAssert.Contains(Assert.ThrowsExactly<PeftFormatException>(() => AdapterConfigFile.Read(path)).Message, path);
    }

    [TestMethod]
    public void Set_WhenFieldUnknownForMethod_Throws()
    {
        var config = AdapterConfig.Create(VeraPeft.Layout);

        Assert.ThrowsExactly<ArgumentException>(() => config.Set("num_vectors", 4));
        Assert.ThrowsExactly<ArgumentException>(() => config.Set("r", "four"));
        Assert.ThrowsExactly<ArgumentException>(() => config.Set("peft_type", "LORA"));
    }

    [TestMethod]
    public void TargetModulesPattern_WhenRegexString_IsReturned()
    {
        var config = AdapterConfig.Create(LoraPeft.Layout).Set("target_modules", @".*\.(query|value)$");

        Assert.AreEqual(@".*\.(query|value)$", config.TargetModulesPattern);
        Assert.IsNull(config.TargetModuleNames);
    }

    static JsonObject Fixture(string method) => JsonNode.Parse(File.ReadAllText(PeftFixtures.Config(method)))!.AsObject();

    static AdapterConfig Parse(JsonObject json) => AdapterConfigFile.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), "test.json");
}
