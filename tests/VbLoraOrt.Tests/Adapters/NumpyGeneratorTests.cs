using System.Runtime.InteropServices;
using System.Security.Cryptography;
using VbLoraOrt.Adapters.Methods.UniLora;

namespace VbLoraOrt.Tests.Adapters;

/// <summary>
/// The numpy port against numpy 1.24's own output (Debian python3-numpy), recorded here: raw PCG64 outputs of
/// <c>default_rng(seed)</c>, <c>choice</c> without replacement (Floyd and tail-shuffle paths), <c>shuffle</c>, and
/// whole Uni-LoRA index arrays (by SHA-256 of their int64 bytes).
/// </summary>
[TestClass]
public sealed class NumpyGeneratorTests
{
    [TestMethod]
    [DataRow(0UL, 11749869230777074271UL, 4976686463289251617UL, 755828109848996024UL)]
    [DataRow(42UL, 14276969152011380360UL, 8095878257575067585UL, 15838336090824644132UL)]
    [DataRow(1099511627783UL, 15307346044642009514UL, 4709548916763817589UL, 2836937976252648324UL)] // 2^40 + 7: two seed words
    public void NextUInt64_MatchesNumpyRandomRaw(ulong seed, ulong first, ulong second, ulong third)
    {
        var random = new NumpyGenerator(seed);

        CollectionAssert.AreEqual(new[] { first, second, third }, new[] { random.NextUInt64(), random.NextUInt64(), random.NextUInt64() });
    }

    [TestMethod]
    public void ChoiceWithoutReplacement_MatchesNumpy_OnBothPaths()
    {
        var random = new NumpyGenerator(42);
        CollectionAssert.AreEqual(new long[] { 9, 0, 6 }, random.ChoiceWithoutReplacement(10, 3));
        CollectionAssert.AreEqual(new long[] { 694, 853, 85, 975, 200, 93, 525 }, random.ChoiceWithoutReplacement(1000, 7), "same generator, next call");

        // population > 10000 and size > population / 50: numpy's tail shuffle
        var tail = new NumpyGenerator(7).ChoiceWithoutReplacement(20000, 1000);
        CollectionAssert.AreEqual(new long[] { 3762, 1432, 9397, 10263, 5947, 4314, 19279, 4248 }, tail[..8]);
    }

    [TestMethod]
    public void Shuffle_MatchesNumpy()
    {
        long[] values = Enumerable.Range(0, 20).Select(i => (long)i).ToArray();

        new NumpyGenerator(7).Shuffle(values);

        CollectionAssert.AreEqual(new long[] { 3, 8, 12, 13, 14, 16, 10, 15, 1, 6, 0, 7, 4, 18, 5, 19, 17, 2, 9, 11 }, values);
    }

    [TestMethod]
    [DataRow(96L, 10L, 42UL, "d8586c85326736e5234eafcaece7e7aa286eb77b7c27d163554702120b3b9849")]
    [DataRow(36864L, 23000L, 42UL, "9dd01f0bc8cb58b8cc036f48438f9181901c8ab69c2aeb9ca7ec0720a0d3376b")] // extra columns by tail shuffle
    [DataRow(36864L, 1000L, 42UL, "4449cf236e6140048b10c0600c415b73c940876c0c2fc6f99e75fd549497944c")]  // by Floyd's algorithm
    [DataRow(36864L, 4096L, 7UL, "61df23a08e667d92464731d97ac72824e43a3cea2bea408e4b9df581dcc901ec")]   // D divisible by d
    public void Projection_IndexArray_MatchesPeftsNumpyConstruction(long rows, long columns, ulong seed, string sha256)
    {
        var projection = UniLoraProjection.Create(rows, columns, seed);

        string actual = Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(projection.Index.AsSpan())));
        Assert.AreEqual(sha256, actual);
    }

    [TestMethod]
    public void Projection_ColumnsAreOrthonormal()
    {
        var p = UniLoraProjection.Create(96, 10, 42);

        // (PᵀP)_jk = Σ_i P_ij P_ik: one nonzero per row, so only j = k survives, with n_j · (1/√n_j)² = 1.
        var diagonal = new double[10];
        foreach (long j in p.Index)
            diagonal[j] += p.Scale[j] * (double)p.Scale[j];
        foreach (double d in diagonal)
            Assert.AreEqual(1.0, d, 1e-6);
    }
}
