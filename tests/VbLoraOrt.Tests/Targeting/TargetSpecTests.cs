using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Targeting;

[TestClass]
public sealed class TargetSpecTests
{
    static readonly string[] Paths =
    [
        "encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value",
        "encoder.layer.0.attention.output.dense", "encoder.layer.1.attention.self.query", "pooler.dense", "myquery",
    ];

    static List<LinearModule> Modules() => Paths.Select(p =>
        new LinearModule(p, PathSource.BiasName, p, "MatMul", 4, 4, "w", WeightLayout.InOut, null, "x", "y")).ToList();

    [TestMethod]
    public void Matches_WhenList_MatchesEqualOrDotSuffixOnly()
    {
        var spec = TargetSpec.FromNames(["query", "pooler.dense"]);

        CollectionAssert.AreEqual(
            new[] { "encoder.layer.0.attention.self.query", "encoder.layer.1.attention.self.query", "pooler.dense" },
            Paths.Where(spec.Matches).ToArray());
    }

    [TestMethod]
    public void Matches_WhenRegex_RequiresFullMatch()
    {
        Assert.IsFalse(TargetSpec.FromRegex("query").Matches("encoder.layer.0.attention.self.query"));
        Assert.IsTrue(TargetSpec.FromRegex(@".*\.self\.(query|value)").Matches("encoder.layer.0.attention.self.value"));
        Assert.IsFalse(TargetSpec.FromRegex(@".*\.self\.(query|value)").Matches("encoder.layer.0.attention.self.value.extra"));
    }

    [TestMethod]
    public void Matches_WhenExcluded_ExclusionWins()
    {
        var spec = TargetSpec.FromNames(["query"]).Excluding(["layer.1.attention.self.query"]);

        Assert.AreEqual(1, Paths.Count(spec.Matches));
        Assert.IsFalse(spec.Matches("encoder.layer.1.attention.self.query"));
    }

    [TestMethod]
    public void Select_WhenNothingMatches_ThrowsListingAvailablePaths()
    {
        var e = Assert.ThrowsExactly<TargetSelectionException>(() => TargetSelector.Select(Modules(), TargetSpec.FromNames(["qkv"])));

        StringAssert.Contains(e.Message, "qkv");
        StringAssert.Contains(e.Message, "encoder.layer.0.attention.output.dense");
        StringAssert.Contains(e.Message, "pooler.dense");
    }

    [TestMethod]
    public void FromRegex_WhenInvalid_ThrowsNamingPattern()
    {
        var e = Assert.ThrowsExactly<UsageException>(() => TargetSpec.FromRegex("(query"));
        StringAssert.Contains(e.Message, "(query");
    }
}
