using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>A non-finite value anywhere in a stored adapter (VB-LoRA's bank and top-k weights, the head) is refused naming the tensor.</summary>
[TestClass]
public sealed class StoredNonFiniteTests
{
    [TestMethod]
    [DataRow("base_model.vblora_vector_bank")]
    [DataRow("head.classifier.weight")]
    [DataRow("head.classifier.bias")]
    [DataRow("topk_weights")]
    public void Load_WhenAStoredTensorHoldsNaN_IsRefusedNamingIt(string key)
    {
        var folder = ArtifactFolder.Open(PreparedArtifacts.Classify);
        var initial = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity).Tensors.ToDictionary(t => t.Name, t => t.Values);
        string path = Path.Combine(PreparedArtifacts.NewFolder("vblora-nan"), "adapter.safetensors");
        AdapterFile.Save(path, folder.Manifest, initial);
        Assert.AreEqual(VbLoraDescriptor.Instance.Name, folder.Method.Name, "the prepared artifacts are VB-LoRA's");

        var (tensors, metadata) = SafetensorsFile.Read(path);
        var target = tensors.First(t => t.Name == key || (key == "topk_weights" && t.Name.EndsWith("_topk_weights", StringComparison.Ordinal)));
        byte[] data = (byte[])target.Data.Clone();
        BitConverter.GetBytes(float.NaN).CopyTo(data, 0);
        SafetensorsFile.Write(path, tensors.Select(t => t == target ? t with { Data = data } : t).ToList(), metadata);

        var e = Assert.ThrowsExactly<BadInputException>(() => AdapterFile.Load(path));

        StringAssert.Contains(e.Message, target.Name);
        StringAssert.Contains(e.Message, "non-finite");
    }
}
