using System.Text.Json.Nodes;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Artifacts;

[TestClass]
public sealed class ArtifactManifestTests
{
    [TestMethod]
    public void Load_AfterPrepare_KeepsIdentityAndAttentionMaskInput()
    {
        string path = Path.Combine(PreparedArtifacts.Classify, ArtifactNames.Manifest);
        var manifest = ArtifactManifest.Load(path);
        string copy = Path.Combine(PreparedArtifacts.NewFolder("vblora-manifest"), ArtifactNames.Manifest);

        manifest.Save(copy);
        var again = ArtifactManifest.Load(copy);

        Assert.AreEqual("attention_mask", manifest.BaseModel.AttentionMaskInput);
        Assert.AreEqual(manifest.Identity, again.Identity, "identity survives a save/load round trip");
    }

    [TestMethod]
    public void Load_WhenWrittenBeforeMaskNameWasRecorded_UsesPrepareDefault()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(PreparedArtifacts.Classify, ArtifactNames.Manifest)))!;
        json["baseModel"]!.AsObject().Remove("attentionMaskInput");
        string path = Path.Combine(PreparedArtifacts.NewFolder("vblora-manifest"), ArtifactNames.Manifest);
        File.WriteAllText(path, json.ToJsonString());

        Assert.AreEqual("attention_mask", ArtifactManifest.Load(path).BaseModel.AttentionMaskInput);
    }
}
