using System.Diagnostics;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.OrtTraining;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// <c>prepare --format ort</c> on all-MiniLM-L6-v2 with VB-LoRA: three steps of ONNX Runtime's training runtime
/// (onnxruntime-web 1.19.2) against three of the runner. It takes about 40 s (two 90 MB models in wasm), over the
/// suite's budget, so it runs only when asked:
/// <c>VBLORA_ORT_MINILM=1 dotnet test tests/VbLoraOrt.Tests -c Release --filter FullyQualifiedName~MiniLmOrtConformanceTests</c>.
/// </summary>
[TestClass]
public sealed class MiniLmOrtConformanceTests
{
    const double Tolerance = 1e-5;
    const float LearningRate = 0.001f, WeightDecay = 0.5f;
    const int Steps = 3, Rows = 4, Sequence = 16;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void ThreeSteps_LossAndParameters_EqualOurRunner()
    {
        if (Environment.GetEnvironmentVariable("VBLORA_ORT_MINILM") != "1")
            Assert.Inconclusive("set VBLORA_ORT_MINILM=1 to run the MiniLM conformance check (about 40 s).");
        var clock = Stopwatch.StartNew();
        string dir = Directory.CreateTempSubdirectory("vblora-ort-minilm").FullName;
        try
        {
            var manifest = ArtifactBuilder.Prepare(new PrepareOptions
            {
                ModelPath = RealModel.ModelPath,
                OutputDirectory = dir,
                Method = new VbLoraMethod(new VbLoraOptions { NumVectors = 64, VectorLength = 128, Rank = 4, TopK = 2 }),
                Targets = TargetSpec.FromNames(["query", "value"]),
                Task = new TaskOptions { NumLabels = 2 },
                VocabPath = RealModel.VocabPath,
                MaxLength = Sequence,
                OrtTraining = new OrtArtifactOptions { LearningRate = LearningRate, WeightDecay = WeightDecay },
            });
            long prepared = clock.ElapsedMilliseconds;
            var ours = OurRun.Train(dir, Steps, Batch, LearningRate, WeightDecay);
            long trained = clock.ElapsedMilliseconds;
            string ort = Path.Combine(dir, OrtTrainingNames.Folder);
            var result = OrtWebHarness.Run(new HarnessJob([new HarnessRun("minilm", Path.Combine(ort, OrtTrainingNames.TrainingModel),
                Path.Combine(ort, OrtTrainingNames.EvalModel), Path.Combine(ort, OrtTrainingNames.OptimizerModel),
                Path.Combine(ort, OrtTrainingNames.CheckpointFile),
                Enumerable.Range(0, Steps).Select(s => new HarnessStep(OurRun.Feeds(Batch(manifest, s)))).ToList())]), dir).Runs["minilm"];
            Assert.IsNull(result.Error, $"ONNX Runtime failed: {result.Error}");
            double lossGap = 0, parameterGap = 0;
            for (int step = 0; step < Steps; step++)
            {
                Assert.AreEqual(ours.Losses[step], result.Steps[step].Loss, Tolerance, $"loss of step {step + 1}");
                lossGap = Math.Max(lossGap, Math.Abs(ours.Losses[step] - result.Steps[step].Loss));
                for (int i = 0; i < ours.Parameters[step].Length; i++)
                {
                    Assert.AreEqual(ours.Parameters[step][i], result.Steps[step].Parameters[i], Tolerance, $"parameter {i} after step {step + 1}");
                    parameterGap = Math.Max(parameterGap, Math.Abs(ours.Parameters[step][i] - result.Steps[step].Parameters[i]));
                }
            }
            TestContext.WriteLine($"MiniLM VB-LoRA, {result.Steps[0].Parameters.Length} trainables, {Steps} steps of {Rows}×{Sequence}: " +
                                  $"losses ORT [{string.Join(", ", result.Steps.Select(s => s.Loss.ToString("F6")))}], max |Δloss| {lossGap:E2}, " +
                                  $"max |Δparameter| {parameterGap:E2}; prepare {prepared} ms, ours {trained - prepared} ms, ORT web {clock.ElapsedMilliseconds - trained} ms");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Batch <paramref name="index"/>: [CLS] random word-piece ids [SEP] then padding, rows of different lengths.</summary>
    static IReadOnlyList<IntInput> Batch(ArtifactManifest manifest, int index)
    {
        var rng = new Random(900 + index);
        var ids = new long[Rows * Sequence];
        var mask = new long[Rows * Sequence];
        for (int r = 0; r < Rows; r++)
        {
            int length = Sequence - 3 * ((r + index) % Rows);
            for (int s = 0; s < length; s++)
            {
                ids[r * Sequence + s] = s == 0 ? 101 : s == length - 1 ? 102 : rng.Next(2000, 20000);
                mask[r * Sequence + s] = 1;
            }
        }
        long[] tokens = [Rows, Sequence];
        var inputs = new List<IntInput> { new("input_ids", tokens, ids), new("attention_mask", tokens, mask) };
        if (manifest.DataInputs.Contains("token_type_ids"))
            inputs.Add(new("token_type_ids", tokens, new long[Rows * Sequence]));
        inputs.Add(new(manifest.LabelInputs.Single(), [Rows], [.. Enumerable.Range(0, Rows).Select(r => (long)((r + index) % 2))]));
        return inputs;
    }
}
