using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Interchange;
using VbLoraOrt.Adapters.Merging;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Adapters;
using VbLoraOrt.Tests.Contract;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Interchange;

/// <summary>
/// Export to a PEFT directory, import it against the model, merge: the same weights as merging the trained values
/// directly, for every registered method and both forms of the options PEFT leaves open (VB-LoRA top-k or full logits,
/// VeRA with or without saved projections), with and without a module prefix.
/// </summary>
[TestClass]
public sealed class PeftRoundTripTests
{
    string _directory = "";

    [TestInitialize]
    public void CreateDirectory() => _directory = Path.Combine(Path.GetTempPath(), $"peft-roundtrip-{Guid.NewGuid():N}");

    [TestCleanup]
    public void DeleteDirectory()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    public static IEnumerable<object[]> Cases =>
        from name in AdapterMethods.Names
        from variant in new[] { false, true }
        select new object[] { name, variant };

    [TestMethod]
    public void EveryRegisteredMethod_HasAPeftForm()
    {
        foreach (string name in AdapterMethods.Names)
            Assert.AreEqual(AdapterMethods.Find(name).PeftType, AdapterMethods.PeftFormOf(name).PeftType, name);
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void ExportImportMerge_EqualsMergingTheRun(string name, bool variant)
    {
        var model = TinyModels.TwoLayerMlp(8, 16, 8);
        var descriptor = AdapterMethods.Find(name);
        var method = descriptor.Create(MethodOptionValues.For(descriptor, MethodContractTests.Methods[name].TinyOptions), 42);
        var targets = AdapterFixtures.MlpTargets(8, 16, 8);
        var plan = method.Plan(targets);
        var values = AdapterFixtures.TrainedLooking(plan, seed: 31);
        var head = new PeftHead(PeftHead.Classifier, TinyModels.Random(3 * 8, 5), TinyModels.Random(3, 6), 3, 8);
        string prefix = variant ? "net." : "";
        var options = new PeftExportOptions { TopKOnly = variant, SaveProjection = !variant };

        PeftExporter.Write(_directory, new PeftExportContent(method, plan, values, head, ["layer1", "layer2"], ModulePrefix: prefix), options, overwrite: false);
        var imported = PeftImporter.Read(_directory, LinearModuleFinder.Find(model), "tiny");

        bool keysNameModules = AdapterMethods.PeftFormOf(name).ModuleTensors(imported.Config).Count > 0;   // Uni-LoRA's one θ names none
        Assert.AreEqual(keysNameModules ? prefix : "", imported.ModulePrefix);
        Assert.AreEqual(name, imported.Adapter.Method.Name);
        var direct = AdapterMerger.Merge(model, method.ComputeFactors(plan, values));
        var viaPeft = AdapterMerger.Merge(model, imported.Adapter.Factors);
        foreach (var target in targets)
        {
            float[] expected = direct.Tensors.ReadFloats(direct.Graph.Initializer.Single(t => t.Name == target.WeightName));
            float[] actual = viaPeft.Tensors.ReadFloats(viaPeft.Graph.Initializer.Single(t => t.Name == target.WeightName));
            Assert.IsLessThanOrEqualTo(1e-6f, AdapterFixtures.MaxAbsDiff(expected, actual), $"{name} {target.Path}");
        }
        CollectionAssert.AreEqual(head.Weight, imported.Head!.Weight);
        CollectionAssert.AreEqual(head.Bias, imported.Head.Bias);
        bool topKForm = name == "vblora" && variant;
        Assert.AreEqual(!topKForm, imported.Adapter.Trainable, "only VB-LoRA's top-k form cannot be trained further");
        if (imported.Adapter.Trainable)
            foreach (var (ours, theirs) in plan.Parameters.Zip(imported.Plan.Parameters))
                CollectionAssert.AreEqual(values[ours.Name], imported.Adapter.Values[theirs.Name], $"{name}: {ours.Name} kept exactly");
    }

    [TestMethod]
    public void Export_WritesOnlyPeftsTwoFiles_WithPeftsMetadata()
    {
        var method = AdapterMethods.Find("lora").CreateDefault();
        var plan = method.Plan(AdapterFixtures.MlpTargets(8, 16, 8));
        PeftExporter.Write(_directory, new PeftExportContent(method, plan, AdapterFixtures.TrainedLooking(plan), null, ["layer1", "layer2"]), new(), overwrite: false);

        CollectionAssert.AreEquivalent(new[] { PeftKeys.ConfigFileName, PeftKeys.WeightsFileName }, Directory.GetFiles(_directory).Select(Path.GetFileName).ToArray());
        var (_, metadata) = SafetensorsFile.Read(Path.Combine(_directory, PeftKeys.WeightsFileName));
        CollectionAssert.AreEquivalent(new[] { KeyValuePair.Create("format", "pt") }, metadata.ToArray());
    }

    [TestMethod]
    public void Export_IntoANonEmptyDirectory_IsRefusedUnlessOverwrite_AndOverwriteLeavesOtherFiles()
    {
        var method = AdapterMethods.Find("lora").CreateDefault();
        var plan = method.Plan(AdapterFixtures.MlpTargets(8, 16, 8));
        var content = new PeftExportContent(method, plan, AdapterFixtures.TrainedLooking(plan), null, ["layer1", "layer2"]);
        Directory.CreateDirectory(_directory);
        string notes = Path.Combine(_directory, "notes.txt");
        File.WriteAllText(notes, "mine");

        var e = Assert.ThrowsExactly<UsageException>(() => PeftExporter.Write(_directory, content, new(), overwrite: false));
        Assert.Contains("--overwrite", e.Message);
        Assert.IsFalse(File.Exists(Path.Combine(_directory, PeftKeys.ConfigFileName)), "nothing written");

        PeftExporter.Write(_directory, content, new(), overwrite: true);
        Assert.AreEqual("mine", File.ReadAllText(notes));
        Assert.IsTrue(File.Exists(Path.Combine(_directory, PeftKeys.WeightsFileName)));
    }
}
