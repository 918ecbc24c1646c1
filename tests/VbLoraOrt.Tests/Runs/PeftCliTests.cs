using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.GraphBuilder.Cli;
using VbLoraOrt.Runner;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Runs;

/// <summary>
/// The two programs end to end on a briefly trained MiniLM run: <c>vblora-run export --peft</c> (both VB-LoRA forms),
/// then <c>vblora-graph merge --peft</c>, gives the same predictions as the run's own merged export.
/// </summary>
[TestClass]
public sealed class PeftCliTests
{
    static string _run = null!, _data = null!;

    [ClassInitialize]
    public static void TrainBriefly(TestContext _) => (_run, _data) = BriefRun.Train(16, 4, "vblora-peft-run");

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void ExportPeft_ThenGraphMerge_PredictsAsTheRunsMergedModel(bool topKOnly)
    {
        string dir = PreparedArtifacts.NewFolder("vblora-peft-cli");
        try
        {
            ExportThenMerge(dir, topKOnly);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);                  // two merged MiniLM models, about 180 MB
        }
    }

    static void ExportThenMerge(string dir, bool topKOnly)
    {
        string peft = Path.Combine(dir, "peft"), ours = Path.Combine(dir, "ours.onnx"), viaPeft = Path.Combine(dir, "via-peft.onnx");
        var error = new StringWriter();
        string[] export = ["export", "--run", _run, "--peft", peft, "--merged", ours, .. topKOnly ? new[] { "--peft-topk-only" } : []];

        Assert.AreEqual(0, RunnerCli.Run(export, new StringWriter(), error), error.ToString());
        Assert.AreEqual(0, GraphCli.Run(["merge", "--model", RealModel.ModelPath, "--peft", peft, "--out", viaPeft, "--pooling", "mean"], new StringWriter(), error), error.ToString());

        var expected = ModelEvaluation.WithMergedModel(ours, null, _data, 8, 32, keepOutputs: true);
        var actual = ModelEvaluation.WithMergedModel(viaPeft, RealModel.VocabPath, _data, 8, 32, keepOutputs: true);
        float max = 0;
        for (int i = 0; i < expected.Count; i++)
            for (int c = 0; c < 2; c++)
                max = Math.Max(max, Math.Abs(expected.Outputs![i][c] - actual.Outputs![i][c]));
        Assert.IsLessThanOrEqualTo(1e-4f, max, "logits through the PEFT directory equal the run's merged model's");

        var again = new StringWriter();
        Assert.AreEqual(2, RunnerCli.Run(["export", "--run", _run, "--peft", peft], new StringWriter(), again), "a non-empty --peft directory needs --overwrite");
        StringAssert.Contains(again.ToString(), "--overwrite");
        Assert.IsTrue(File.Exists(Path.Combine(peft, PeftKeys.WeightsFileName)));
    }
}
