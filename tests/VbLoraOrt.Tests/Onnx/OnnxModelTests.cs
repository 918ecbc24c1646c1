using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Onnx;

[TestClass]
public sealed class OnnxModelTests
{
    public TestContext TestContext { get; set; } = null!;

    string NewFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vblora-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [TestMethod]
    public void Save_WithExternalData_RoundTripsTensorsAndOutputs()
    {
        string dir = NewFolder();
        OnnxModel original = TinyModels.TwoLayerMlp();
        original.Proto.MetadataProps.Add(new StringStringEntryProto { Key = "kept", Value = "yes" });
        string path = Path.Combine(dir, "mlp.onnx");

        original.Save(path, new ExternalDataOptions { FileName = "mlp.weights", ThresholdBytes = 64 });
        OnnxModel reloaded = OnnxModel.Load(path);
        string resaved = Path.Combine(dir, "again", "mlp.onnx");
        reloaded.Save(resaved, new ExternalDataOptions { FileName = "w.bin", ThresholdBytes = 64 });
        OnnxModel third = OnnxModel.Load(resaved);

        Assert.IsTrue(File.Exists(Path.Combine(dir, "mlp.weights")));
        Assert.IsTrue(reloaded.Graph.Initializer.Where(t => t.Name is "101" or "102").All(TensorStore.IsExternal),
            "weights over the threshold are stored externally");
        Assert.AreEqual("yes", third.Proto.MetadataProps.Single(p => p.Key == "kept").Value);
        foreach (var tensor in original.Graph.Initializer)
        {
            var again = third.Graph.Initializer.Single(t => t.Name == tensor.Name);
            CollectionAssert.AreEqual(original.Tensors.ReadFloats(tensor), third.Tensors.ReadFloats(again), tensor.Name);
        }
        var x = new DenseTensor<float>(TinyModels.Random(12, 7), [3, 4]);
        var expected = OrtRunner.Run(original, new Dictionary<string, object> { ["x"] = x })["y"];
        var actual = OrtRunner.RunFile(resaved, new Dictionary<string, object> { ["x"] = x })["y"];
        Assert.AreEqual(0f, OrtRunner.MaxAbsDiff(expected, actual));
    }

    [TestMethod]
    public void Save_KeepsUnknownFieldsAndOpsets()
    {
        OnnxModel model = TinyModels.TwoLayerMlp();
        model.Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.example", Version = 3 });
        // Field 26 (ModelProto.configuration, IR 11) is not in our schema: it must survive as an unknown field.
        byte[] bytes = model.ToBytesInline();
        byte[] withUnknown = [.. bytes, 0xD2, 0x01, 0x03, 0x0A, 0x01, 0x61];
        OnnxModel parsed = OnnxModel.Load(new MemoryStream(withUnknown), "unknown.onnx", null);
        byte[] again = parsed.ToBytesInline();

        CollectionAssert.AreEqual(withUnknown, again);
        Assert.AreEqual(3, parsed.Proto.OpsetImport.Single(o => o.Domain == "com.example").Version);
    }

    [TestMethod]
    public void Load_WhenTruncated_ThrowsNamingFile()
    {
        string dir = NewFolder();
        string path = Path.Combine(dir, "cut.onnx");
        byte[] bytes = TinyModels.TwoLayerMlp().ToBytesInline();
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var e = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(path));
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void Load_WhenNotOnnx_ThrowsNamingFile()
    {
        string path = Path.Combine(NewFolder(), "notes.onnx");
        File.WriteAllText(path, "this is not a model");

        var e = Assert.ThrowsExactly<OnnxFormatException>(() => OnnxModel.Load(path));
        StringAssert.Contains(e.Message, "notes.onnx");
    }

    [TestMethod]
    public void ReadBytes_WhenExternalLocationEscapesFolder_Refuses()
    {
        string dir = NewFolder();
        OnnxModel model = TinyModels.TwoLayerMlp();
        string path = Path.Combine(dir, "m.onnx");
        model.Save(path, new ExternalDataOptions { ThresholdBytes = 64 });
        OnnxModel loaded = OnnxModel.Load(path);
        var tensor = loaded.Graph.Initializer.First(TensorStore.IsExternal);
        tensor.ExternalData.Single(e => e.Key == "location").Value = "../../etc/passwd";

        var e = Assert.ThrowsExactly<OnnxFormatException>(() => loaded.Tensors.ReadBytes(tensor));
        StringAssert.Contains(e.Message, "leaves the model's folder");
    }

    [TestMethod]
    public void ReadBytes_WhenDataFileTruncated_ThrowsNamingTensor()
    {
        string dir = NewFolder();
        string path = Path.Combine(dir, "m.onnx");
        TinyModels.TwoLayerMlp().Save(path, new ExternalDataOptions { FileName = "m.data", ThresholdBytes = 64 });
        using (var f = new FileStream(Path.Combine(dir, "m.data"), FileMode.Open)) f.SetLength(10);
        OnnxModel loaded = OnnxModel.Load(path);

        var e = Assert.ThrowsExactly<OnnxFormatException>(() => loaded.Tensors.ReadBytes(loaded.Graph.Initializer.First(TensorStore.IsExternal)));
        StringAssert.Contains(e.Message, "truncated");
    }
}
