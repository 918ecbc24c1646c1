using VbLoraOrt.Runner.Demo;
using VbLoraOrt.Runtime.Data;

namespace VbLoraOrt.Tests.Data;

/// <summary>The committed sample (src/VbLoraOrt.Runner/Demo/SpamAssassin, copied beside the program), read through the product's data reader.</summary>
[TestClass]
public sealed class SpamAssassinSampleTests
{
    static string SampleFile(string name) => Path.Combine(VbLoraOrt.Runner.Demo.DemoData.SpamAssassinFolder, name);

    [TestMethod]
    public void Sample_WhenRead_HasFixedSizesTwoClassesAndNoOverlap()
    {
        TextDataset train = DataFileReader.ReadText(SampleFile("train.jsonl"), LabelKind.Class);
        TextDataset test = DataFileReader.ReadText(SampleFile("test.jsonl"), LabelKind.Class, new DataReadOptions { ClassNames = train.ClassNames });
        Assert.AreEqual(1600, train.Examples.Count);
        Assert.AreEqual(500, test.Examples.Count);
        CollectionAssert.AreEqual(new[] { "ham", "spam" }, train.ClassNames!.ToArray());
        double spamShare = train.Examples.Count(e => e.Label == 1) / 1600.0;
        Assert.AreEqual(0.30, spamShare, 0.03, "spam share of the corpus");
        Assert.IsFalse(train.Examples.Select(e => e.Text).Intersect(test.Examples.Select(e => e.Text)).Any());
        Assert.IsTrue(train.Examples.All(e => e.Text.Length is > 0 and <= 1500));
    }

    [TestMethod]
    public void Sample_WhenRead_KeepsNoMailHeaderLines()
    {
        TextDataset train = DataFileReader.ReadText(SampleFile("train.jsonl"), LabelKind.Class);
        string[] headers = ["Return-Path: <", "Delivered-To: ", "Message-ID: <", "Content-Type: "];
        Assert.IsFalse(train.Examples.Any(e => headers.Any(h => e.Text.StartsWith(h, StringComparison.Ordinal))));
    }
}
