using VbLoraOrt.Adapters.Methods.Vera;

namespace VbLoraOrt.Tests.Vera;

/// <summary>
/// VeRA's shared projections as PEFT draws them (<c>_kaiming_init</c> of <c>vera_A [r, max_in]</c>, then
/// <c>vera_B [max_out, r]</c>, from one generator seeded with <c>projection_prng_key</c>) against libtorch 2.10 running
/// exactly those calls (<c>Reference/libtorch_reference.cpp</c>: <c>manual_seed</c>, then <c>uniform</c> on
/// float32 with PEFT's bound): FNV-1a-64 of each whole tensor, with the default dispatch (AVX-512/AVX2 kernels,
/// <see cref="UniformArithmetic.Fused"/>) and with <c>ATEN_CPU_CAPABILITY=default</c>
/// (<see cref="UniformArithmetic.Separate"/>). PEFT itself was not run here (no Python torch on this machine).
/// </summary>
[TestClass]
public sealed class VeraProjectionsTests
{
    [TestMethod]
    [DataRow(0L, 4, 384, 384, 0x575ebcdc38f5d2eeUL, 0x9e4a99324745304aUL)]
    [DataRow(255L, 8, 32, 48, 0x3fc9e104bf21b1a5UL, 0x00d015ed8681324fUL)]
    [DataRow(42L, 256, 384, 1536, 0x95aa9fb33ac8ffc0UL, 0x593bfd4d33cc07b6UL)]
    [DataRow(-1L, 2, 5, 3, 0x0a13ba7f050ce17cUL, 0x4b5354f9fb2e0db7UL)] // manual_seed(-1): 0xffff_ffff_ffff_fffe
    public void Generate_Fused_MatchesLibtorchAvx2(long seed, int rank, int maxIn, int maxOut, ulong hashA, ulong hashB)
    {
        var p = VeraProjections.Generate(seed, rank, maxIn, maxOut, UniformArithmetic.Fused);

        Assert.AreEqual(hashA, TorchGeneratorTests.Fnv1a(p.A), "vera_A");
        Assert.AreEqual(hashB, TorchGeneratorTests.Fnv1a(p.B), "vera_B");
    }

    [TestMethod]
    [DataRow(0L, 4, 384, 384, 0x575ebcdc38f5d2eeUL, 0x7019ad6b53bd7a6dUL)]
    [DataRow(255L, 8, 32, 48, 0x0122ddb5b7dcc0f3UL, 0x6a9f8e562bf1b4f6UL)]
    [DataRow(42L, 256, 384, 1536, 0x95aa9fb33ac8ffc0UL, 0x13520ccf88020d86UL)]
    [DataRow(-1L, 2, 5, 3, 0x5deaeb27f954cabeUL, 0x49ba7b1f0e2fb65aUL)]
    public void Generate_Separate_MatchesLibtorchBaselineKernel(long seed, int rank, int maxIn, int maxOut, ulong hashA, ulong hashB)
    {
        var p = VeraProjections.Generate(seed, rank, maxIn, maxOut, UniformArithmetic.Separate);

        Assert.AreEqual(hashA, TorchGeneratorTests.Fnv1a(p.A), "vera_A");
        Assert.AreEqual(hashB, TorchGeneratorTests.Fnv1a(p.B), "vera_B");
    }

    [TestMethod]
    public void Generate_Seed0_FirstValuesMatchLibtorchBits()
    {
        // In 384 gives bound √3·√2/√384 = 0.125, a power of two: both kernels agree on vera_A. vera_B's bound
        // (fan r = 4) is not, and its first values differ in the last bit between the kernels.
        var fused = VeraProjections.Generate(0, 4, 384, 384, UniformArithmetic.Fused);
        var separate = VeraProjections.Generate(0, 4, 384, 384, UniformArithmetic.Separate);

        CollectionAssert.AreEqual(new uint[] { 0xba755400, 0x3d89545e, 0xbdd2b316 }, TorchGeneratorTests.Bits(fused.A[..3]));
        CollectionAssert.AreEqual(new uint[] { 0xbed0812d, 0x3eca0f72, 0x3f0ab02b }, TorchGeneratorTests.Bits(fused.B[..3]));
        CollectionAssert.AreEqual(new uint[] { 0xbed0812e, 0x3eca0f74, 0x3f0ab02c }, TorchGeneratorTests.Bits(separate.B[..3]));
    }

    [TestMethod]
    public void Generate_DrawsAFirstThenBFromOneStream()
    {
        var p = VeraProjections.Generate(3, 2, 6, 5);
        var generator = new TorchGenerator(3);
        var a = generator.Uniform(2 * 6, -VeraProjections.KaimingBound(6), VeraProjections.KaimingBound(6));
        var b = generator.Uniform(5 * 2, -VeraProjections.KaimingBound(2), VeraProjections.KaimingBound(2));

        CollectionAssert.AreEqual(a, p.A);
        CollectionAssert.AreEqual(b, p.B);
    }

    [TestMethod]
    [DataRow(384, 0.125)]                  // √(6/384) = 1/8
    [DataRow(4, 1.2247448713915889)]       // √(6/4)
    public void KaimingBound_IsSqrt6OverFanIn(int fanIn, double expected)
    {
        Assert.AreEqual(expected, VeraProjections.KaimingBound(fanIn), 1e-15);
    }

    [TestMethod]
    public void SharedShape_TakesEachMaximumOnItsOwn()
    {
        // PEFT's _find_dim: largest (out, in) component-wise, e.g. q (384 -> 384) and an FFN up (384 -> 1536), down (1536 -> 384).
        var shape = VeraProjections.SharedShape([(384, 384), (384, 1536), (1536, 384)]);

        Assert.AreEqual((1536, 1536), shape);
    }

    [TestMethod]
    public void SharedShape_WhenNoTargets_Throws()
    {
        Assert.ThrowsExactly<ArgumentException>(() => VeraProjections.SharedShape([]));
    }
}
