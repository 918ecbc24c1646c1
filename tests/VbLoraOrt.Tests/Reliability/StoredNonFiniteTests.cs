using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// A non-finite value anywhere in a stored adapter (VB-LoRA's bank and top-k weights, the head) or in a checkpoint (a
/// parameter or a moment, with a valid checksum) is refused naming the tensor: resumed or exported, it would only give NaN.
/// </summary>
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

    [TestMethod]
    [DataRow(0)]
    [DataRow(-1)]
    public void Checkpoint_WhenATensorHoldsInfinityOrNaN_IsRefusedByResumeAndExportNamingIt(int which)
    {
        var folder = ArtifactFolder.Open(PreparedArtifacts.Classify);
        string run = Path.Combine(PreparedArtifacts.NewFolder("vblora-nan-run"), "run");
        var error = new StringWriter();
        Assert.AreEqual(0, VbLoraOrt.Runner.RunnerCli.Run(["train", "--artifacts", PreparedArtifacts.Classify, "--train", PreparedArtifacts.SpamSample(4),
            "--out", run, "--max-steps", "1", "--batch-size", "4"], new StringWriter(), error), error.ToString());
        string path = Path.Combine(run, VbLoraOrt.Contracts.Runs.RunLayout.Checkpoint);
        var saved = Checkpoint.Load(path, folder.Identity);
        var damaged = saved.Tensors[which < 0 ? saved.Tensors.Count - 1 : which];
        float[] values = (float[])damaged.Values.Clone();
        values[values.Length / 2] = which < 0 ? float.NaN : float.PositiveInfinity;
        new Checkpoint(saved.ArtifactsId, saved.Step, saved.Position,
            saved.Tensors.Select(t => t == damaged ? new NamedTensor(t.Name, t.Shape, values) : t).ToList()).Save(path);

        foreach (string[] command in new[] { new[] { "train", "--resume", run, "--max-steps", "2" }, ["export", "--run", run, "--adapter", Path.Combine(run, "a.safetensors")] })
        {
            var message = new StringWriter();
            Assert.AreEqual(1, VbLoraOrt.Runner.RunnerCli.Run(command, new StringWriter(), message), message.ToString());
            StringAssert.Contains(message.ToString(), $"'{damaged.Name}' holds a non-finite value");
            StringAssert.Contains(message.ToString(), path);
        }
        Assert.IsFalse(File.Exists(Path.Combine(run, "a.safetensors")));
    }
}
