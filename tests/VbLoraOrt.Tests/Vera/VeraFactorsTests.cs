using VbLoraOrt.Adapters.Methods.Vera;

namespace VbLoraOrt.Tests.Vera;

/// <summary>
/// VeRA's per-target factors against the naive formula <c>ΔW[o, i] = λ_b[o] · Σ_k B[o, k] · λ_d[k] · A[k, i]</c>
/// evaluated in double, element by element, on sliced projections.
/// </summary>
[TestClass]
public sealed class VeraFactorsTests
{
    [TestMethod]
    public void Factors_WhenMultiplied_EqualNaiveDeltaW()
    {
        var p = VeraProjections.Generate(11, rank: 3, maxIn: 7, maxOut: 9);
        const int inFeatures = 5, outFeatures = 6;
        float[] lambdaD = [0.1f, -0.7f, 1.3f];
        float[] lambdaB = [0.5f, 0f, -2f, 0.25f, 1f, 3f];

        float[] a = VeraFactors.ScaledA(p, lambdaD, inFeatures);   // [r, in]
        float[] b = VeraFactors.ScaledB(p, lambdaB);               // [out, r]

        for (int o = 0; o < outFeatures; o++)
            for (int i = 0; i < inFeatures; i++)
            {
                double naive = 0, product = 0;
                for (int k = 0; k < p.Rank; k++)
                {
                    naive += lambdaB[o] * (double)p.B[o * p.Rank + k] * lambdaD[k] * p.A[k * p.MaxIn + i];
                    product += (double)b[o * p.Rank + k] * a[k * inFeatures + i];
                }
                Assert.AreEqual(naive, product, 1e-6 * Math.Max(1, Math.Abs(naive)), $"ΔW[{o}, {i}]");
            }
    }

    [TestMethod]
    public void ScaledA_SlicesLeadingColumnsOfEachRow()
    {
        var p = VeraProjections.Generate(1, rank: 2, maxIn: 4, maxOut: 3);

        float[] a = VeraFactors.ScaledA(p, [1f, 2f], inFeatures: 3);

        CollectionAssert.AreEqual(new[] { p.A[0], p.A[1], p.A[2], 2 * p.A[4], 2 * p.A[5], 2 * p.A[6] }, a);
    }

    [TestMethod]
    public void ScaledB_SlicesLeadingRows()
    {
        var p = VeraProjections.Generate(1, rank: 2, maxIn: 4, maxOut: 3);

        float[] b = VeraFactors.ScaledB(p, [3f, -1f]);

        CollectionAssert.AreEqual(new[] { 3 * p.B[0], 3 * p.B[1], -p.B[2], -p.B[3] }, b);
    }

    [TestMethod]
    public void ScaledB_WhenLambdaBIsZero_GivesZeroUpdate()
    {
        // PEFT's fresh state: λ_b = 0 (λ_d = d_initial = 0.1) adds exactly nothing.
        var p = VeraProjections.Generate(0, rank: 4, maxIn: 8, maxOut: 8);

        Assert.IsTrue(VeraFactors.ScaledB(p, new float[8]).All(v => v == 0));
    }

    [TestMethod]
    public void Scaled_WhenSizesDoNotFit_ThrowNamingTheSize()
    {
        var p = VeraProjections.Generate(0, rank: 2, maxIn: 4, maxOut: 3);

        var tooWide = Assert.ThrowsExactly<ArgumentException>(() => VeraFactors.ScaledA(p, [1f, 1f], inFeatures: 5));
        StringAssert.Contains(tooWide.Message, "in_features 5");
        var wrongRank = Assert.ThrowsExactly<ArgumentException>(() => VeraFactors.ScaledA(p, [1f], inFeatures: 2));
        StringAssert.Contains(wrongRank.Message, "rank is 2");
        var tooTall = Assert.ThrowsExactly<ArgumentException>(() => VeraFactors.ScaledB(p, new float[4]));
        StringAssert.Contains(tooTall.Message, "4 entries");
    }
}
