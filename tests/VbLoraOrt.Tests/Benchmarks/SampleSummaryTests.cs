using VbLoraOrt.Bench;

namespace VbLoraOrt.Tests.Benchmarks;

[TestClass]
public sealed class SampleSummaryTests
{
    [TestMethod]
    public void Of_WhenCountOdd_MedianIsMiddleValue()
    {
        var s = SampleSummary.Of([5, 1, 9, 3, 7]);

        Assert.AreEqual(new SampleSummary(5, 5, 1, 9), s);
    }

    [TestMethod]
    public void Of_WhenCountEven_MedianIsMeanOfMiddlePair()
    {
        var s = SampleSummary.Of([4, 1, 3, 10]);

        Assert.AreEqual(3.5, s.Median);
        Assert.AreEqual(1, s.Min);
        Assert.AreEqual(10, s.Max);
    }

    [TestMethod]
    public void Of_WhenEmptyOrNotFinite_Throws()
    {
        Assert.ThrowsExactly<ArgumentException>(() => SampleSummary.Of([]));
        Assert.ThrowsExactly<ArgumentException>(() => SampleSummary.Of([1, double.NaN]));
    }
}
