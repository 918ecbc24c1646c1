using Onnx;
using VbLoraOrt.OrtFormats.Adapters;
using static VbLoraOrt.Tests.OnnxAdapters.AdapterModels;

namespace VbLoraOrt.Tests.OnnxAdapters;

/// <summary>
/// The check of an adapter against a model's graph inputs: what it accepts (any subset of the inputs, exact types,
/// fixed dims equal, symbolic dims any size) and what it refuses, naming the parameter.
/// </summary>
[TestClass]
public sealed class AdapterInputContractTests
{
    static AdapterInputContract LowRankContract => AdapterInputContract.FromModel(LowRank(), requestInputs: ["x"]);

    static OnnxAdapter Adapter(params OnnxAdapterParameter[] parameters) => new(parameters);

    [TestMethod]
    public void FromModel_Always_ListsTensorInputsWithTypesShapesAndDefaults()
    {
        var inputs = LowRankContract.Inputs.ToDictionary(i => i.Name);

        Assert.HasCount(3, inputs);
        Assert.AreEqual("[?,4]", inputs["x"].ShapeText);
        Assert.IsFalse(inputs["x"].HasDefault);
        Assert.AreEqual("[4,2]", inputs["lora_A"].ShapeText);
        Assert.IsTrue(inputs["lora_A"].HasDefault);
        Assert.AreEqual("FLOAT", inputs["lora_B"].TypeName);
    }

    [TestMethod]
    public void FindMismatches_WhenAdapterFeedsAnySubsetWithMatchingTypesAndShapes_ReturnsNone()
    {
        var a = OnnxAdapterParameter.Float("lora_A", [In, Rank], new float[In * Rank]);
        var b = OnnxAdapterParameter.Float("lora_B", [Rank, Out], new float[Rank * Out]);

        Assert.IsEmpty(LowRankContract.FindMismatches(Adapter(a, b)));
        Assert.IsEmpty(LowRankContract.FindMismatches(Adapter(b)));
        LowRankContract.EnsureFits(Adapter(a), "a.onnx_adapter");
    }

    [TestMethod]
    public void FindMismatches_WhenIntegerInputsMatch_ReturnsNone()
    {
        var contract = AdapterInputContract.FromModel(IndexedBank());

        Assert.IsEmpty(contract.FindMismatches(Adapter(
            OnnxAdapterParameter.FromValues<long>("idx_i64", [2], [1, 2]),
            OnnxAdapterParameter.FromValues<byte>("idx_u8", [2], [1, 2]),
            OnnxAdapterParameter.FromValues<short>("idx_i16", [2], [1, 2]))));
    }

    [TestMethod]
    public void FindMismatches_WhenDimIsSymbolic_AcceptsAnySize()
    {
        var contract = new AdapterInputContract([new AdapterInput("bank", (int)TensorProto.Types.DataType.Float, [null, 3], HasDefault: false)]);

        Assert.IsEmpty(contract.FindMismatches(Adapter(OnnxAdapterParameter.Float("bank", [5, 3], new float[15]))));
        Assert.HasCount(1, contract.FindMismatches(Adapter(OnnxAdapterParameter.Float("bank", [5, 4], new float[20]))));
    }

    [TestMethod]
    public void FindMismatches_WhenModelDeclaresNoShape_AcceptsAnyShape()
    {
        var contract = new AdapterInputContract([new AdapterInput("any", (int)TensorProto.Types.DataType.Float, null, HasDefault: false)]);

        Assert.IsEmpty(contract.FindMismatches(Adapter(OnnxAdapterParameter.Float("any", [2, 2, 2], new float[8]))));
    }

    [TestMethod]
    public void FindMismatches_WhenEverythingIsWrong_NamesEachParameterAndWhy()
    {
        var mismatches = LowRankContract.FindMismatches(Adapter(
            OnnxAdapterParameter.Float("lora_C", [1], [0f]),
            OnnxAdapterParameter.FromValues<double>("lora_A", [In, Rank], new double[In * Rank]),
            OnnxAdapterParameter.Float("lora_B", [Rank, Out, 1], new float[Rank * Out]),
            OnnxAdapterParameter.Float("x", [1, In], new float[In])));

        Assert.HasCount(4, mismatches);
        StringAssert.StartsWith(mismatches[0], "parameter 'lora_C' feeds no graph input of the model (its 3 inputs are 'lora_A', 'lora_B', 'x')");
        Assert.AreEqual("parameter 'lora_A' is DOUBLE but input 'lora_A' is FLOAT", mismatches[1]);
        Assert.AreEqual("parameter 'lora_B' has rank 3 [2,3,1] but input 'lora_B' has rank 2 [2,3]", mismatches[2]);
        StringAssert.StartsWith(mismatches[3], "parameter 'x' names input 'x', which each request feeds");
    }

    [TestMethod]
    public void EnsureFits_WhenAdapterDoesNotFit_ThrowsNamingFileAndTensor()
    {
        var adapter = Adapter(OnnxAdapterParameter.Float("lora_B", [Rank, Out + 1], new float[Rank * (Out + 1)]));

        var e = Assert.ThrowsExactly<OnnxAdapterException>(() => LowRankContract.EnsureFits(adapter, "user-7.onnx_adapter"));

        StringAssert.StartsWith(e.Message, "adapter file 'user-7.onnx_adapter': does not fit the model: parameter 'lora_B' has shape [2,4] but input 'lora_B' is [2,3] (dim 1 differs)");
    }

    [TestMethod]
    public void Constructor_WhenRequestInputIsNoGraphInput_Throws()
    {
        Assert.ThrowsExactly<ArgumentException>(() => AdapterInputContract.FromModel(LowRank(), requestInputs: ["input_ids"]));
    }
}
