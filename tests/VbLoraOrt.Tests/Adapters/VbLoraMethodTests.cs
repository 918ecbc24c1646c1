using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Adapters;

[TestClass]
public sealed class VbLoraMethodTests
{
    const float Tolerance = 1e-6f;

    /// <summary>
    /// PEFT's formula, written independently of the product: for each sub-vector, the k largest logits (ties: lower
    /// index first), softmax over them, and the weighted sum of the chosen bank vectors.
    /// </summary>
    static float[] PeftSubVector(float[] logits, int offset, float[] bank, int h, int b, int k)
    {
        var chosen = Enumerable.Range(0, h).OrderByDescending(i => logits[offset + i]).ThenBy(i => i).Take(k).ToArray();
        double max = chosen.Max(i => logits[offset + i]);
        double[] e = chosen.Select(i => Math.Exp(logits[offset + i] - max)).ToArray();
        var sub = new float[b];
        for (int c = 0; c < b; c++)
            sub[c] = (float)chosen.Select((i, j) => e[j] / e.Sum() * bank[i * b + c]).Sum();
        return sub;
    }

    // A[r, in]: A[row, blk*b + c] = sub_A[row, blk][c]   (logits_A [r, in/b, h])
    static float[] PeftA(float[] logitsA, float[] bank, int r, int inDim, int h, int b, int k)
    {
        var a = new float[r * inDim];
        for (int row = 0; row < r; row++)
            for (int blk = 0; blk < inDim / b; blk++)
            {
                float[] sub = PeftSubVector(logitsA, (row * (inDim / b) + blk) * h, bank, h, b, k);
                for (int c = 0; c < b; c++) a[row * inDim + blk * b + c] = sub[c];
            }
        return a;
    }

    // B[out, r]: B[blk*b + c, col] = sub_B[blk, col][c]   (logits_B [out/b, r, h], then transpose(1, 2))
    static float[] PeftB(float[] logitsB, float[] bank, int r, int outDim, int h, int b, int k)
    {
        var bMatrix = new float[outDim * r];
        for (int blk = 0; blk < outDim / b; blk++)
            for (int col = 0; col < r; col++)
            {
                float[] sub = PeftSubVector(logitsB, (blk * r + col) * h, bank, h, b, k);
                for (int c = 0; c < b; c++) bMatrix[(blk * b + c) * r + col] = sub[c];
            }
        return bMatrix;
    }

    [TestMethod]
    [DataRow(1, 4)]
    [DataRow(2, 4)]
    [DataRow(3, 4)]
    [DataRow(1, 8)]
    [DataRow(2, 8)]
    [DataRow(3, 8)]
    public void Factors_FromOrtAndFromCSharp_MatchPeftFormula(int k, int vectorLength)
    {
        const int h = 6, r = 3;
        var method = new VbLoraMethod(new VbLoraOptions { NumVectors = h, VectorLength = vectorLength, Rank = r, TopK = k });
        LinearModule[] targets = AdapterFixtures.MlpTargets(8, 16, 8);
        var plan = method.Plan(targets);
        var values = AdapterFixtures.TrainedLooking(plan);
        var injected = AdapterInjector.InjectWithInitializers(TinyModels.TwoLayerMlp(8, 16, 8), method, targets, values);
        AdapterFixtures.ExposeAsOutputs(injected.Model, injected.Factors.SelectMany(f => new[] { f.A, f.B }).ToArray());

        var fromOrt = OrtRunner.Run(injected.Model, AdapterFixtures.Input(2, 8));
        var fromCSharp = method.ComputeFactors(plan, values);

        float[] bank = values[VbLoraNames.VectorBank];
        foreach (var (f, computed) in injected.Factors.Zip(fromCSharp))
        {
            var t = f.Module;
            float[] a = PeftA(values[VbLoraNames.LogitsA(t.Path)], bank, r, t.InFeatures, h, vectorLength, k);
            float[] b = PeftB(values[VbLoraNames.LogitsB(t.Path)], bank, r, t.OutFeatures, h, vectorLength, k);
            CollectionAssert.AreEqual(new[] { r, t.InFeatures }, fromOrt[f.A].Dimensions.ToArray(), $"{t.Path} A shape");
            CollectionAssert.AreEqual(new[] { t.OutFeatures, r }, fromOrt[f.B].Dimensions.ToArray(), $"{t.Path} B shape");
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(a, AdapterFixtures.Flat(fromOrt[f.A])), $"{t.Path} A from ORT");
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(b, AdapterFixtures.Flat(fromOrt[f.B])), $"{t.Path} B from ORT");
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(a, computed.A), $"{t.Path} A in C#");
            Assert.IsLessThanOrEqualTo(Tolerance, AdapterFixtures.MaxAbsDiff(b, computed.B), $"{t.Path} B in C#");
        }
    }

    [TestMethod]
    public void Plan_ListsSharedBankThenPerModuleLogits_WithPeftShapes()
    {
        var method = new VbLoraMethod(new VbLoraOptions { NumVectors = 5, VectorLength = 4, Rank = 2, TopK = 2 });

        var plan = method.Plan(AdapterFixtures.MlpTargets(4, 8, 4));

        var expected = new (string Name, long[] Shape, string Group)[]
        {
            ("vblora_vector_bank", [5, 4], VbLoraNames.BankGroup),
            ("vblora_logits_A.layer1", [2, 1, 5], VbLoraNames.LogitsGroup),
            ("vblora_logits_B.layer1", [2, 2, 5], VbLoraNames.LogitsGroup),
            ("vblora_logits_A.layer2", [2, 2, 5], VbLoraNames.LogitsGroup),
            ("vblora_logits_B.layer2", [1, 2, 5], VbLoraNames.LogitsGroup),
        };
        Assert.HasCount(expected.Length, plan.Parameters);
        foreach (var (e, p) in expected.Zip(plan.Parameters))
        {
            Assert.AreEqual(e.Name, p.Name);
            CollectionAssert.AreEqual(e.Shape, p.Shape, p.Name);
            Assert.AreEqual(e.Group, p.Group, p.Name);
        }
    }

    [TestMethod]
    public void Plan_WhenInFeaturesNotDivisible_ThrowsNamingModuleDimsAndVectorLength()
    {
        var method = new VbLoraMethod(new VbLoraOptions { VectorLength = 256 });
        var query = new LinearModule("encoder.layer.0.attention.self.query", PathSource.BiasName, "MatMul_40", "MatMul",
            384, 384, "927", WeightLayout.InOut, "encoder.layer.0.attention.self.query.bias", "x", "y");

        var e = Assert.ThrowsExactly<AdapterException>(() => method.Plan([query]));

        Assert.AreEqual(
            "encoder.layer.0.attention.self.query: in_features 384 is not divisible by vector_length 256; " +
            "choose a vector length that divides 384 (e.g. 128 or 384).", e.Message);
    }

    [TestMethod]
    public void Plan_WhenOutFeaturesNotDivisible_ThrowsNamingOutFeatures()
    {
        var method = new VbLoraMethod(new VbLoraOptions { NumVectors = 4, VectorLength = 4 });
        var odd = AdapterFixtures.MlpTargets(4, 8, 6)[1];

        var e = Assert.ThrowsExactly<AdapterException>(() => method.Plan([odd]));

        StringAssert.StartsWith(e.Message, "layer2: out_features 6 is not divisible by vector_length 4;");
    }

    [TestMethod]
    public void Options_WhenTopKExceedsNumVectors_Throws()
    {
        var e = Assert.ThrowsExactly<UsageException>(() => new VbLoraMethod(new VbLoraOptions { NumVectors = 2, TopK = 3 }));

        StringAssert.Contains(e.Message, "--topk 3 exceeds --num-vectors 2");
    }

    [TestMethod]
    public void Plan_WhenModuleListedTwice_Throws()
    {
        var method = new VbLoraMethod(new VbLoraOptions { NumVectors = 4, VectorLength = 4 });
        var layer1 = AdapterFixtures.MlpTargets()[0];

        var e = Assert.ThrowsExactly<AdapterException>(() => method.Plan([layer1, layer1]));

        StringAssert.Contains(e.Message, "'layer1' is targeted 2 times");
    }

    [TestMethod]
    public void InitialValues_AreSeededAndFollowTheInitDistributions()
    {
        var options = new VbLoraOptions { NumVectors = 64, VectorLength = 4, Rank = 4, TopK = 2, Seed = 3 };
        var targets = AdapterFixtures.MlpTargets(64, 128, 64);
        var method = new VbLoraMethod(options);
        var plan = method.Plan(targets);

        var first = method.InitialValues(plan);
        var again = new VbLoraMethod(options).InitialValues(plan);
        var otherSeed = new VbLoraMethod(new VbLoraOptions { NumVectors = 64, VectorLength = 4, Rank = 4, TopK = 2, Seed = 4 }).InitialValues(plan);

        foreach (var p in plan.Parameters)
        {
            CollectionAssert.AreEqual(first[p.Name], again[p.Name], $"{p.Name}: same seed, same values");
            CollectionAssert.AreNotEqual(first[p.Name], otherSeed[p.Name], $"{p.Name}: another seed, other values");
        }
        float[] bank = first[VbLoraNames.VectorBank];
        Assert.IsTrue(bank.All(v => v is >= -0.02f and <= 0.02f), "bank within U(-0.02, 0.02)");
        Assert.IsGreaterThan(0.015f, bank.Max(), "bank spreads over its range");
        float[] logits = plan.Parameters.Where(p => p.Group == VbLoraNames.LogitsGroup).SelectMany(p => first[p.Name]).ToArray();
        double mean = logits.Average(v => (double)v);
        double std = Math.Sqrt(logits.Average(v => (v - mean) * (v - mean)));
        Assert.IsLessThan(0.01, Math.Abs(mean), $"logit mean {mean} near 0 ({logits.Length} draws)");
        Assert.IsLessThan(0.01, Math.Abs(std - 0.1), $"logit std {std} near 0.1");
    }
}
