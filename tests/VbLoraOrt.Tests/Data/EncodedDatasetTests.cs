using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Text;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Data;

[TestClass]
public sealed class EncodedDatasetTests
{
    static readonly Lazy<BertTextTokenizer> Tokenizer = new(() => BertTextTokenizer.Load(RealModel.VocabPath));

    static TextDataset Classes(params (string Text, int Label)[] rows) =>
        new([.. rows.Select((r, i) => new TextExample(r.Text, null, r.Label, $"t:{i + 1}"))], LabelKind.Class, null, 2, 0, []);

    [TestMethod]
    public void TextBatches_WhenLongestPadding_PadsToLongestInBatchWithMaskAndLabels()
    {
        var data = EncodedDataset.Encode(Classes(("a b c", 1), ("a", 0)), Tokenizer.Value, maxLength: 64);
        TextBatch batch = data.TextBatches(new BatchOptions { BatchSize = 2 }, epoch: 0).Single();
        Assert.AreEqual(5, batch.Tokens.SequenceLength);
        int longRow = Array.IndexOf(batch.Examples, 0), shortRow = 1 - longRow;
        CollectionAssert.AreEqual(new long[] { 101, 1037, 1038, 1039, 102 }, batch.Tokens.InputIds.AsSpan(longRow * 5, 5).ToArray());
        CollectionAssert.AreEqual(new long[] { 101, 1037, 102, 0, 0 }, batch.Tokens.InputIds.AsSpan(shortRow * 5, 5).ToArray());
        CollectionAssert.AreEqual(new long[] { 1, 1, 1, 0, 0 }, batch.Tokens.AttentionMask.AsSpan(shortRow * 5, 5).ToArray());
        Assert.AreEqual(1L, batch.ClassLabels![longRow]);
        Assert.AreEqual(0L, batch.ClassLabels![shortRow]);
        Assert.IsNull(batch.Targets);
    }

    [TestMethod]
    public void TextBatches_WhenMaxLengthPadding_PadsEveryBatchToMaxLength()
    {
        var data = EncodedDataset.Encode(Classes(("a b c", 1), ("a", 0), ("b", 1)), Tokenizer.Value, maxLength: 16);
        var options = new BatchOptions { BatchSize = 2, MaxLength = 16, Padding = PaddingMode.MaxLength };
        CollectionAssert.AreEqual(new[] { 16, 16 }, data.TextBatches(options, 0).Select(b => b.Tokens.SequenceLength).ToArray());
    }

    [TestMethod]
    public void TextBatches_WhenPairAndRegression_SetsTypeIdsAndFloatTargets()
    {
        var data = new TextDataset([new TextExample("a", "b c", 0.5, "t:1")], LabelKind.Regression, null, 0, 0, []);
        TextBatch batch = EncodedDataset.Encode(data, Tokenizer.Value, 32).TextBatches(new BatchOptions(), 0).Single();
        CollectionAssert.AreEqual(new long[] { 0, 0, 0, 1, 1, 1 }, batch.Tokens.TokenTypeIds);
        CollectionAssert.AreEqual(new[] { 0.5f }, batch.Targets);
        Assert.IsNull(batch.ClassLabels);
    }

    [TestMethod]
    public void PairBatches_WhenEmbedding_PadsAnchorsAndPositivesSeparately()
    {
        var data = new PairDataset([new PairExample("a", "a b c d", "p:1"), new PairExample("a b", "c", "p:2")], 0, []);
        PairBatch batch = EncodedDataset.Encode(data, Tokenizer.Value, 32).PairBatches(new BatchOptions(), 0).Single();
        Assert.AreEqual(4, batch.Anchors.SequenceLength);
        Assert.AreEqual(6, batch.Positives.SequenceLength);
        Assert.AreEqual(2, batch.Anchors.BatchSize);
    }
}
