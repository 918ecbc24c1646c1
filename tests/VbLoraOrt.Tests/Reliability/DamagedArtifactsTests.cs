using System.Text.Json.Nodes;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Runner;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// A damaged or mismatched artifact folder is bad input that names the file (exit 1, one line, no stack trace),
/// whether the manifest's file hashes catch it or, for manifests without them, the trainer's contract checks.
/// </summary>
[TestClass]
public sealed class DamagedArtifactsTests
{
    [TestMethod]
    public void Train_WhenWeightsAreTruncated_ExitsBadInputNamingWeights()
    {
        string dir = CopyOfArtifacts();
        string weights = Path.Combine(dir, ArtifactNames.WeightsFile);
        using (var stream = new FileStream(weights, FileMode.Open))
            stream.SetLength(stream.Length / 2);

        var (code, error) = Train(dir);

        AssertBadInputNaming(code, error, weights);
    }

    [TestMethod]
    public void Train_WhenOptimizerModelComesFromOtherArtifacts_ExitsBadInputNamingIt()
    {
        string dir = CopyOfArtifacts();
        string optimizer = Path.Combine(dir, ArtifactNames.OptimizerModel);
        File.Copy(Path.Combine(PreparedArtifacts.Embed, ArtifactNames.OptimizerModel), optimizer, overwrite: true);

        var (code, error) = Train(dir);

        AssertBadInputNaming(code, error, optimizer);
        StringAssert.Contains(error, "other artifacts");
    }

    [TestMethod]
    public void Train_WhenTrainingModelHasAFlippedByte_ExitsBadInputNamingIt()
    {
        string dir = CopyOfArtifacts();
        string training = Path.Combine(dir, ArtifactNames.TrainingModel);
        byte[] bytes = File.ReadAllBytes(training);
        bytes[bytes.Length / 3] ^= 0x40;
        File.WriteAllBytes(training, bytes);

        var (code, error) = Train(dir);

        AssertBadInputNaming(code, error, training);
    }

    [TestMethod]
    public void Train_WhenManifestHasNoHashesAndOptimizerIsForeign_TrainerContractNamesIt()
    {
        string dir = CopyOfArtifacts();
        string manifest = Path.Combine(dir, ArtifactNames.Manifest);
        var json = JsonNode.Parse(File.ReadAllText(manifest))!.AsObject();
        Assert.IsTrue(json.Remove("files"), "prepare records the files' hashes");
        File.WriteAllText(manifest, json.ToJsonString());
        string optimizer = Path.Combine(dir, ArtifactNames.OptimizerModel);
        File.Copy(Path.Combine(PreparedArtifacts.Embed, ArtifactNames.OptimizerModel), optimizer, overwrite: true);

        var (code, error) = Train(dir);

        AssertBadInputNaming(code, error, optimizer);
    }

    [TestMethod]
    public void Eval_WhenEvalModelIsNotAModel_ExitsBadInputNamingIt()
    {
        string dir = CopyOfArtifacts();
        string manifest = Path.Combine(dir, ArtifactNames.Manifest);
        var json = JsonNode.Parse(File.ReadAllText(manifest))!.AsObject();
        json.Remove("files"); // past the hashes: ONNX Runtime itself must not turn a broken file into an internal error
        File.WriteAllText(manifest, json.ToJsonString());
        string eval = Path.Combine(dir, ArtifactNames.EvalModel);
        File.WriteAllBytes(eval, [1, 2, 3, 4, 5, 6, 7, 8]);

        var (code, error) = Train(dir, "--eval", PreparedArtifacts.SpamSample(4));

        AssertBadInputNaming(code, error, eval);
    }

    static (int Code, string Error) Train(string artifacts, params string[] more)
    {
        var error = new StringWriter();
        int code = RunnerCli.Run(
            ["train", "--artifacts", artifacts, "--train", PreparedArtifacts.SpamSample(8), "--out", Path.Combine(PreparedArtifacts.NewFolder("vblora-run"), "run"),
             "--max-steps", "1", "--batch-size", "4", "--threads", "1", .. more],
            new StringWriter(), error);
        return (code, error.ToString());
    }

    static void AssertBadInputNaming(int code, string error, string file)
    {
        Assert.AreEqual(ExitCodes.BadInput, code, error);
        StringAssert.Contains(error, file);
        Assert.DoesNotContain("   at ", error, "no stack trace for bad input");
        Assert.DoesNotContain("internal error", error);
    }

    static string CopyOfArtifacts()
    {
        string dir = PreparedArtifacts.NewFolder("vblora-damaged");
        foreach (string file in Directory.GetFiles(PreparedArtifacts.Classify))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }
}
