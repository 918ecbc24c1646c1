using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Interchange;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Peft;
using VbLoraOrt.Tests.Support;
using static VbLoraOrt.Tests.Interchange.PeftHandWritten;

namespace VbLoraOrt.Tests.Interchange;

/// <summary>
/// PEFT directories written here without any of our metadata merge into a model with the ΔW PEFT's formula gives
/// (written independently in <see cref="PeftHandWritten"/>), within 1e-6 of ΔW's scale: LoRA, VB-LoRA in both forms,
/// VeRA with saved projections no generator made; and into MiniLM from the VB-LoRA fixture config as PEFT writes it.
/// </summary>
[TestClass]
public sealed class PeftImportTests
{
    const int In = 8, Hid = 16, Out = 8;
    static readonly (string Path, int In, int Out)[] Mlp = [("layer1", In, Hid), ("layer2", Hid, Out)];

    string _directory = "";

    [TestInitialize]
    public void CreateDirectory() => _directory = Path.Combine(Path.GetTempPath(), $"peft-import-{Guid.NewGuid():N}");

    [TestCleanup]
    public void DeleteDirectory()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    string Peft => Path.Combine(_directory, "adapter");

    (OnnxModel Base, OnnxModel Merged, PeftAdapter Adapter) MergeTiny()
    {
        string model = Path.Combine(_directory, "tiny.onnx"), merged = Path.Combine(_directory, $"merged-{Guid.NewGuid():N}.onnx");
        TinyModels.TwoLayerMlp(In, Hid, Out).Save(model);
        var adapter = PeftMerge.Run(model, Peft, merged, new PeftHeadOptions());
        return (OnnxModel.Load(model), OnnxModel.Load(merged), adapter);
    }

    void Check(Dictionary<string, double[]> expected)
    {
        var (baseModel, merged, adapter) = MergeTiny();
        var modules = LinearModuleFinder.Find(baseModel);
        foreach (var (path, delta) in expected)
        {
            AssertMerged(baseModel, merged, modules.Single(m => m.Path == path), delta, path);
            var factors = adapter.Adapter.Factors.Single(f => f.Module.Path == path);
            AssertClose(delta, factors.DeltaOutIn().Select(v => (double)v).ToArray(), $"{path} factors");
        }
    }

    [TestMethod]
    public void Lora_GivesAlphaOverRTimesBA()
    {
        const int r = 2;
        var tensors = new List<SafeTensor>();
        var expected = new Dictionary<string, double[]>();
        int seed = 1;
        foreach (var (path, input, output) in Mlp)
        {
            float[] a = TinyModels.Random(r * input, seed++), b = TinyModels.Random(output * r, seed++);
            tensors.Add(SafeTensor.F32($"base_model.model.{path}.lora_A.weight", [r, input], a));
            tensors.Add(SafeTensor.F32($"base_model.model.{path}.lora_B.weight", [output, r], b));
            expected[path] = Delta(a, b, r, input, output, scale: 6.0 / r);
        }
        Write(Peft, Config("LORA", "[\"layer1\", \"layer2\"]", "\"r\": 2", "\"lora_alpha\": 6", "\"lora_dropout\": 0.1"), tensors);
        Check(expected);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void VbLora_GivesTheTopKAdmixture_InBothForms(bool topKOnly)
    {
        const int h = 6, b = 4, r = 2, k = 2;
        float[] bank = TinyModels.Random(h * b, 40);
        var tensors = new List<SafeTensor> { SafeTensor.F32("base_model.vblora_vector_bank", [h, b], bank) };
        var expected = new Dictionary<string, double[]>();
        int seed = 50;
        foreach (var (path, input, output) in Mlp)
        {
            Func<int, int, double[]> subA, subB;
            if (topKOnly)
            {
                // Distinct random indices and a weight in (0, 1) per sub-vector.
                var rng = new Random(seed++);
                (int[] Idx, float W) Pick() { var idx = Enumerable.Range(0, h).OrderBy(_ => rng.Next()).Take(k).ToArray(); return (idx, (float)rng.NextDouble()); }
                var pa = Enumerable.Range(0, r * (input / b)).Select(_ => Pick()).ToArray();
                var pb = Enumerable.Range(0, output / b * r).Select(_ => Pick()).ToArray();
                tensors.Add(U8($"base_model.model.{path}.vblora_logits_A_topk_indices", [r, input / b, k], pa.SelectMany(p => p.Idx)));
                tensors.Add(SafeTensor.F32($"base_model.model.{path}.vblora_logits_A_topk_weights", [r, input / b, k - 1], pa.Select(p => p.W).ToArray()));
                tensors.Add(U8($"base_model.model.{path}.vblora_logits_B_topk_indices", [output / b, r, k], pb.SelectMany(p => p.Idx)));
                tensors.Add(SafeTensor.F32($"base_model.model.{path}.vblora_logits_B_topk_weights", [output / b, r, k - 1], pb.Select(p => p.W).ToArray()));
                subA = (row, blk) => Mix(bank, b, pa[row * (input / b) + blk].Idx, [pa[row * (input / b) + blk].W]);
                subB = (blk, row) => Mix(bank, b, pb[blk * r + row].Idx, [pb[blk * r + row].W]);
            }
            else
            {
                float[] la = TinyModels.Random(r * (input / b) * h, seed++, 2f), lb = TinyModels.Random(output / b * r * h, seed++, 2f);
                tensors.Add(SafeTensor.F32($"base_model.model.{path}.vblora_logits_A", [r, input / b, h], la));
                tensors.Add(SafeTensor.F32($"base_model.model.{path}.vblora_logits_B", [output / b, r, h], lb));
                subA = (row, blk) => SoftTop(la, (row * (input / b) + blk) * h, bank, h, b, k);
                subB = (blk, row) => SoftTop(lb, (blk * r + row) * h, bank, h, b, k);
            }
            var (a, bm) = VbLoraFactors(subA, subB, r, input, output, b);
            expected[path] = Delta(a, bm, r, input, output);
        }
        Write(Peft, Config("VBLORA", "[\"layer1\", \"layer2\"]", "\"r\": 2", "\"num_vectors\": 6", "\"vector_length\": 4", "\"topk\": 2",
            $"\"save_only_topk_weights\": {(topKOnly ? "true" : "false")}"), tensors);
        Check(expected);
    }

    // PEFT's _get_low_rank_matrix: softmax over the k largest logits of one row, mixing those bank vectors.
    static double[] SoftTop(float[] logits, int offset, float[] bank, int h, int b, int k)
    {
        var top = Enumerable.Range(0, h).OrderByDescending(j => logits[offset + j]).Take(k).ToArray();
        var e = top.Select(j => Math.Exp(logits[offset + j])).ToArray();
        var sub = new double[b];
        for (int j = 0; j < k; j++)
            for (int c = 0; c < b; c++)
                sub[c] += e[j] / e.Sum() * bank[top[j] * b + c];
        return sub;
    }

    [TestMethod]
    public void Vera_WithSavedProjections_GivesLambdaBTimesBTimesLambdaDTimesA()
    {
        const int r = 3, maxIn = Hid, maxOut = Hid;
        float[] sharedA = TinyModels.Random(r * maxIn, 60), sharedB = TinyModels.Random(maxOut * r, 61);   // not any generator's
        var tensors = new List<SafeTensor>
        {
            SafeTensor.F32("base_model.vera_A", [r, maxIn], sharedA),
            SafeTensor.F32("base_model.vera_B", [maxOut, r], sharedB),
        };
        var expected = new Dictionary<string, double[]>();
        int seed = 62;
        foreach (var (path, input, output) in Mlp)
        {
            float[] d = TinyModels.Random(r, seed++), lb = TinyModels.Random(output, seed++);
            tensors.Add(SafeTensor.F32($"base_model.model.{path}.vera_lambda_d", [r], d));
            tensors.Add(SafeTensor.F32($"base_model.model.{path}.vera_lambda_b", [output], lb));
            var delta = new double[output * input];
            for (int o = 0; o < output; o++)
                for (int i = 0; i < input; i++)
                    for (int k = 0; k < r; k++)
                        delta[o * input + i] += (double)lb[o] * sharedB[o * r + k] * d[k] * sharedA[k * maxIn + i];
            expected[path] = delta;
        }
        Write(Peft, Config("VERA", "[\"layer1\", \"layer2\"]", "\"r\": 3", "\"projection_prng_key\": 0", "\"save_projection\": true"), tensors);
        Check(expected);
        Assert.IsFalse(MergeTiny().Adapter.Adapter.Trainable, "projections no generator reproduces cannot seed training");
    }

    [TestMethod]
    public void MiniLm_VbLoraFixtureConfigAsPeftWritesIt_MergesWithPeftsDeltaW()
    {
        const int h = 256, b = 128, r = 4, k = 2, hidden = 384;
        var model = OnnxModel.Load(RealModel.ModelPath);
        var targets = LinearModuleFinder.Find(model).Where(m => m.Path.EndsWith(".query") || m.Path.EndsWith(".value")).ToList();
        Assert.HasCount(12, targets);
        float[] bank = TinyModels.Random(h * b, 70, 0.05f);
        var rng = new Random(71);
        (int[] Idx, float W) Pick() => (Enumerable.Range(0, h).OrderBy(_ => rng.Next()).Take(k).ToArray(), (float)rng.NextDouble());
        var tensors = new List<SafeTensor> { SafeTensor.F32("base_model.vblora_vector_bank", [h, b], bank) };
        var expected = new Dictionary<string, double[]>();
        foreach (var t in targets)
        {
            var pa = Enumerable.Range(0, r * (hidden / b)).Select(_ => Pick()).ToArray();
            var pb = Enumerable.Range(0, hidden / b * r).Select(_ => Pick()).ToArray();
            string key = $"base_model.model.bert.{t.Path}";
            tensors.Add(I16($"{key}.vblora_logits_A_topk_indices", [r, hidden / b, k], pa.SelectMany(p => p.Idx)));
            tensors.Add(SafeTensor.F32($"{key}.vblora_logits_A_topk_weights", [r, hidden / b, k - 1], pa.Select(p => p.W).ToArray()));
            tensors.Add(I16($"{key}.vblora_logits_B_topk_indices", [hidden / b, r, k], pb.SelectMany(p => p.Idx)));
            tensors.Add(SafeTensor.F32($"{key}.vblora_logits_B_topk_weights", [hidden / b, r, k - 1], pb.Select(p => p.W).ToArray()));
            var (a, bm) = VbLoraFactors((row, blk) => Mix(bank, b, pa[row * (hidden / b) + blk].Idx, [pa[row * (hidden / b) + blk].W]),
                (blk, row) => Mix(bank, b, pb[blk * r + row].Idx, [pb[blk * r + row].W]), r, hidden, hidden, b);
            expected[t.Path] = Delta(a, bm, r, hidden, hidden);
        }
        tensors.Add(SafeTensor.F32("base_model.model.classifier.weight", [2, hidden], TinyModels.Random(2 * hidden, 72)));
        tensors.Add(SafeTensor.F32("base_model.model.classifier.bias", [2], [0.5f, -0.5f]));
        Write(Peft, File.ReadAllText(PeftFixtures.Config("vblora")), tensors);

        Directory.CreateDirectory(_directory);
        string outPath = Path.Combine(_directory, "merged.onnx");
        var adapter = PeftMerge.Run(RealModel.ModelPath, Peft, outPath, new PeftHeadOptions());
        var merged = OnnxModel.Load(outPath);

        Assert.AreEqual("bert.", adapter.ModulePrefix);
        Assert.AreEqual(2, adapter.Head!.Labels);
        Assert.IsTrue(merged.Graph.Output.Any(o => o.Name == ArtifactNames.Logits), "the classifier head is attached");
        foreach (var t in targets)
            AssertMerged(model, merged, t, expected[t.Path], t.Path);
    }
}
