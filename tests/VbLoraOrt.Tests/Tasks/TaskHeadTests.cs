using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Tasks;

[TestClass]
public sealed class TaskHeadTests
{
    const int Vocab = 11, Hidden = 6;

    // "Encoder": hidden = Embedding[input_ids] — enough to check pooling and losses against a reference.
    static (OnnxModel Model, float[] Table) Encoder()
    {
        var m = TinyModels.NewModel();
        float[] table = TinyModels.Random(Vocab * Hidden, 5);
        m.Graph.Input.Add(ValueInfos.Tensor("input_ids", TensorProto.Types.DataType.Int64, "batch", "seq"));
        m.Graph.Input.Add(ValueInfos.Tensor("attention_mask", TensorProto.Types.DataType.Int64, "batch", "seq"));
        m.Graph.Initializer.Add(Tensors.Float("emb", [Vocab, Hidden], table));
        m.Graph.Node.Add(TinyModels.Node("Gather", ["emb", "input_ids"], ["last_hidden_state"], "G"));
        m.Graph.Output.Add(ValueInfos.Float("last_hidden_state", "batch", "seq", Hidden));
        return (OnnxModel.FromProto(m), table);
    }

    static readonly long[,] Ids = { { 1, 4, 7, 0 }, { 2, 9, 0, 0 }, { 3, 5, 8, 10 }, { 6, 2, 2, 0 } };
    static readonly long[,] Mask = { { 1, 1, 1, 0 }, { 1, 1, 0, 0 }, { 1, 1, 1, 1 }, { 1, 1, 1, 0 } };

    static Dictionary<string, object> Feeds(long[]? classes = null, float[]? targets = null)
    {
        var feeds = new Dictionary<string, object>
        {
            ["input_ids"] = ToTensor(Ids),
            ["attention_mask"] = ToTensor(Mask),
        };
        if (classes != null) feeds[ArtifactNames.Labels] = new DenseTensor<long>(classes, [classes.Length]);
        if (targets != null) feeds[ArtifactNames.Labels] = new DenseTensor<float>(targets, [targets.Length]);
        return feeds;
    }

    static DenseTensor<long> ToTensor(long[,] a)
    {
        var t = new DenseTensor<long>([a.GetLength(0), a.GetLength(1)]);
        for (int i = 0; i < a.GetLength(0); i++) for (int j = 0; j < a.GetLength(1); j++) t[i, j] = a[i, j];
        return t;
    }

    static double[] Pool(float[] table, int row, Pooling pooling)
    {
        var v = new double[Hidden];
        int count = 0;
        for (int s = 0; s < Ids.GetLength(1); s++)
        {
            if (pooling == Pooling.Cls && s > 0) break;
            if (Mask[row, s] == 0) continue;
            count++;
            for (int h = 0; h < Hidden; h++) v[h] += table[Ids[row, s] * Hidden + h];
        }
        return v.Select(x => x / count).ToArray();
    }

    static double[][] ReferenceLogits(float[] table, float[] w, float[] b, int labels, Pooling pooling) =>
        Enumerable.Range(0, Ids.GetLength(0)).Select(r =>
        {
            double[] p = Pool(table, r, pooling);
            return Enumerable.Range(0, labels).Select(c => b[c] + Enumerable.Range(0, Hidden).Sum(h => p[h] * w[h * labels + c])).ToArray();
        }).ToArray();

    static double CrossEntropy(double[][] scores, long[] targets) =>
        scores.Select((row, i) =>
        {
            double max = row.Max();
            double logSum = max + Math.Log(row.Sum(x => Math.Exp(x - max)));
            return logSum - row[targets[i]];
        }).Average();

    [TestMethod]
    [DataRow(Pooling.Cls)]
    [DataRow(Pooling.Mean)]
    public void Classify_MatchesReferenceLogitsAndCrossEntropy(Pooling pooling)
    {
        var (model, table) = Encoder();
        var head = TaskHead.Append(model, new TaskOptions { NumLabels = 3, Pooling = pooling }, "last_hidden_state", "attention_mask",
            Hidden, withLoss: true, headAsInputs: false, seed: 7);
        model.Graph.Output.Add(ValueInfos.Float(head.LossName!));
        long[] classes = [2, 0, 1, 2];

        var outputs = OrtRunner.Run(model, Feeds(classes), ArtifactNames.Logits, head.LossName!);

        var expected = ReferenceLogits(table, head.InitialValues[ArtifactNames.HeadWeight], head.InitialValues[ArtifactNames.HeadBias], 3, pooling);
        var logits = outputs[ArtifactNames.Logits];
        for (int r = 0; r < 4; r++) for (int c = 0; c < 3; c++)
            Assert.AreEqual(expected[r][c], logits[r, c], 1e-5);
        Assert.AreEqual(CrossEntropy(expected, classes), outputs[head.LossName!].GetValue(0), 1e-5);
        Assert.AreEqual(2, head.Trainables.Count);
    }

    [TestMethod]
    public void Classify_WithOneLabel_IsRegressionWithMse()
    {
        var (model, table) = Encoder();
        var head = TaskHead.Append(model, new TaskOptions { NumLabels = 1, Pooling = Pooling.Mean }, "last_hidden_state", "attention_mask",
            Hidden, withLoss: true, headAsInputs: false, seed: 3);
        model.Graph.Output.Add(ValueInfos.Float(head.LossName!));
        float[] targets = [0.5f, -1f, 2f, 0f];

        var outputs = OrtRunner.Run(model, Feeds(targets: targets), head.LossName!);

        var expected = ReferenceLogits(table, head.InitialValues[ArtifactNames.HeadWeight], head.InitialValues[ArtifactNames.HeadBias], 1, Pooling.Mean);
        double mse = expected.Select((row, i) => Math.Pow(row[0] - targets[i], 2)).Average();
        Assert.AreEqual(mse, outputs[head.LossName!].GetValue(0), 1e-5);
    }

    [TestMethod]
    public void Embed_NormalizesMeanPoolAndScoresInBatchNegatives()
    {
        var (model, table) = Encoder();
        var head = TaskHead.Append(model, new TaskOptions { Kind = TaskKind.Embed }, "last_hidden_state", "attention_mask",
            Hidden, withLoss: true, headAsInputs: false, seed: 0);
        model.Graph.Output.Add(ValueInfos.Float(head.LossName!));

        var outputs = OrtRunner.Run(model, Feeds(), ArtifactNames.Embeddings, head.LossName!);

        // Rows 0,1 are anchors; rows 2,3 their positives.
        var unit = Enumerable.Range(0, 4).Select(r =>
        {
            double[] p = Pool(table, r, Pooling.Mean);
            double n = Math.Sqrt(p.Sum(x => x * x));
            return p.Select(x => x / n).ToArray();
        }).ToArray();
        var embeddings = outputs[ArtifactNames.Embeddings];
        for (int r = 0; r < 4; r++) for (int h = 0; h < Hidden; h++)
            Assert.AreEqual(unit[r][h], embeddings[r, h], 1e-5);
        var scores = Enumerable.Range(0, 2).Select(a =>
            Enumerable.Range(0, 2).Select(p => 20 * unit[a].Zip(unit[2 + p]).Sum(x => x.First * x.Second)).ToArray()).ToArray();
        Assert.AreEqual(CrossEntropy(scores, [0, 1]), outputs[head.LossName!].GetValue(0), 1e-4);
        Assert.AreEqual(0, head.Trainables.Count, "embed has no head parameters");
    }

    [TestMethod]
    public void Append_WhenHeadAsInputs_DeclaresTrainableInputs()
    {
        var (model, _) = Encoder();

        var head = TaskHead.Append(model, new TaskOptions { NumLabels = 2 }, "last_hidden_state", "attention_mask",
            Hidden, withLoss: false, headAsInputs: true, seed: 1);

        CollectionAssert.IsSubsetOf(new[] { ArtifactNames.HeadWeight, ArtifactNames.HeadBias }, model.Graph.Input.Select(i => i.Name).ToList());
        Assert.IsFalse(model.Graph.Initializer.Any(t => t.Name == ArtifactNames.HeadWeight));
        Assert.IsNull(head.LossName);
    }

    [TestMethod]
    public void Validate_WhenNoLabels_ThrowsNamingValue()
    {
        var e = Assert.ThrowsExactly<UsageException>(() => new TaskOptions { NumLabels = 0 }.Validate());
        StringAssert.Contains(e.Message, "--num-labels");
    }
}
