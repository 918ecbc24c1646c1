using VbLoraOrt.Runtime.Data;

namespace VbLoraOrt.Tests.Data;

[TestClass]
public sealed class BatchPlannerTests
{
    static readonly int[] Lengths = Enumerable.Range(0, 1000).Select(i => 3 + i * 7919 % 120).ToArray();

    [TestMethod]
    public void Plan_WhenBucketing_UsesEveryExampleExactlyOnce()
    {
        var options = new BatchOptions { BatchSize = 32, BucketChunkBatches = 5 };
        IReadOnlyList<int[]> batches = BatchPlanner.Plan(Lengths, options, epoch: 0);
        CollectionAssert.AreEquivalent(Enumerable.Range(0, Lengths.Length).ToArray(), batches.SelectMany(b => b).ToArray());
        Assert.AreEqual(1, batches.Count(b => b.Length != 32), "only the last batch of a chunk run may be short");
    }

    [TestMethod]
    public void Plan_WhenBucketing_PadsFarLessThanFixedPadding()
    {
        var bucketed = new BatchOptions { BatchSize = 16, BucketChunkBatches = 10, MaxLength = 128 };
        int bucketedTokens = BatchPlanner.Plan(Lengths, bucketed, 0).Sum(b => b.Length * b.Max(i => Lengths[i]));
        int shuffledTokens = BatchPlanner.Plan(Lengths, new BatchOptions { BatchSize = 16, Padding = PaddingMode.MaxLength }, 0)
            .Sum(b => b.Length * b.Max(i => Lengths[i]));
        int realTokens = Lengths.Sum();
        // Sorting 160 examples from a uniform 3..122 range leaves batches spanning ~12 tokens: under 15% padding.
        Assert.IsTrue(bucketedTokens < realTokens * 1.15, $"bucketed {bucketedTokens} vs real {realTokens}");
        Assert.IsTrue(shuffledTokens > realTokens * 1.5, $"shuffled {shuffledTokens} vs real {realTokens}");
    }

    [TestMethod]
    public void Plan_WhenSameSeedAndEpoch_IsIdentical_AndOtherEpochDiffers()
    {
        var options = new BatchOptions { BatchSize = 8, Seed = 42 };
        string Flatten(int epoch) => string.Join(",", BatchPlanner.Plan(Lengths, options, epoch).SelectMany(b => b));
        Assert.AreEqual(Flatten(3), Flatten(3));
        Assert.AreNotEqual(Flatten(3), Flatten(4));
    }

    [TestMethod]
    public void Plan_WhenFixedPadding_KeepsShuffledOrderInFullBatches()
    {
        IReadOnlyList<int[]> batches = BatchPlanner.Plan(Lengths, new BatchOptions { BatchSize = 300, Padding = PaddingMode.MaxLength }, 0);
        CollectionAssert.AreEqual(new[] { 300, 300, 300, 100 }, batches.Select(b => b.Length).ToArray());
        Assert.IsFalse(batches[0].SequenceEqual(batches[0].Order()), "examples are shuffled");
    }

    [TestMethod]
    public void Plan_WhenBatchSizeZero_Throws()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BatchPlanner.Plan(Lengths, new BatchOptions { BatchSize = 0 }, 0));
    }
}
