using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Runner;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Runs;

[TestClass]
public sealed class ExportAndEvalTests
{
    static string _run = null!, _data = null!;

    [ClassInitialize]
    public static void TrainBriefly(TestContext _) => (_run, _data) = BriefRun.Train(24, 6, "vblora-export");

    [TestMethod]
    public void Eval_MergedModelEqualsAdapterThroughEvalGraph()
    {
        var trained = TrainedRun.Open(_run);
        string dir = PreparedArtifacts.NewFolder("vblora-exported");
        var summary = trained.ExportAdapter(Path.Combine(dir, "a.safetensors"));
        trained.ExportMerged(Path.Combine(dir, "merged.onnx"));
        var stored = AdapterFile.Load(summary.Path);

        var viaAdapter = ModelEvaluation.WithParameters(trained.Artifacts, stored.Parameters, stored.Task, _data, 8, 32, keepOutputs: true);
        var viaMerged = ModelEvaluation.WithMergedModel(Path.Combine(dir, "merged.onnx"), null, _data, 8, 32, keepOutputs: true);
        var viaCheckpoint = ModelEvaluation.WithParameters(trained.Artifacts, trained.Values, trained.Task, _data, 8, 32, keepOutputs: true);

        Assert.AreEqual(viaAdapter.Accuracy, viaMerged.Accuracy, "accuracy identical");
        float max = 0;
        for (int i = 0; i < viaAdapter.Count; i++)
            for (int c = 0; c < 2; c++)
                max = Math.Max(max, Math.Abs(viaAdapter.Outputs![i][c] - viaMerged.Outputs![i][c]));
        Assert.IsTrue(max <= 1e-4f, $"merged vs adapter logits differ by {max}");
        Assert.AreEqual(viaCheckpoint.Accuracy, viaAdapter.Accuracy, "the stored (top-k) form predicts like the full logits");
    }

    [TestMethod]
    public void Cli_ExportThenInfer_PrintsLabelWithProbability()
    {
        string dir = PreparedArtifacts.NewFolder("vblora-cli");
        string merged = Path.Combine(dir, "m.onnx");
        var output = new StringWriter();
        var error = new StringWriter();

        int export = RunnerCli.Run(["export", "--run", _run, "--merged", merged, "--adapter", Path.Combine(dir, "a.safetensors")], output, error);
        int infer = RunnerCli.Run(["infer", "--model", merged, "--text", "WIN A FREE PRIZE NOW!!! click http://x.example", "--text", "see you at lunch"], output, error);

        Assert.AreEqual(0, export, error.ToString());
        Assert.AreEqual(0, infer, error.ToString());
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(2, lines.Count(l => l.Contains('%') && (l.StartsWith("spam") || l.StartsWith("ham"))), output.ToString());
    }

    [TestMethod]
    public void Cli_EvalWithoutModelChoice_IsUsageError()
    {
        var error = new StringWriter();

        int code = RunnerCli.Run(["eval", "--data", _data], new StringWriter(), error);

        Assert.AreEqual(2, code);
        StringAssert.Contains(error.ToString(), "--run");
    }
}
