using System.Buffers.Binary;
using System.Text;
using Onnx;
using Raw = VbLoraOrt.OrtFormats.Adapters.AdapterFlatBufferWriter.RawParameter;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Tests.Reliability;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.OnnxAdapters;

/// <summary>
/// ONNX Runtime's adapter file read and written by <see cref="OnnxAdapterFile"/>: round trips of every kind of tensor,
/// the layout ONNX Runtime relies on, and refusal (naming the file and the tensor or field) of every malformed file.
/// </summary>
[TestClass]
public sealed class OnnxAdapterFileTests
{
    const int Float = (int)TensorProto.Types.DataType.Float;
    const int Int64 = (int)TensorProto.Types.DataType.Int64;

    public TestContext TestContext { get; set; } = null!;

    static OnnxAdapter Sample() => new(
    [
        OnnxAdapterParameter.Float("layer.0/lora_A", [2, 4], TinyModels.Random(8, 1)),
        OnnxAdapterParameter.FromValues<long>("bank.topk_indices", [3, 2], [5, 0, 7, 1, 2, 3]),
        OnnxAdapterParameter.FromValues<byte>("indices_u8", [3], [255, 0, 9]),
        OnnxAdapterParameter.FromValues<short>("indices_i16", [2], [-3, 300]),
        OnnxAdapterParameter.FromValues<Half>("half", [1], [(Half)0.5f]),
        OnnxAdapterParameter.FromValues<double>("scale", [1], [0.25]),
        OnnxAdapterParameter.Float("empty", [0, 3], []),
    ], adapterVersion: 7, modelVersion: 3);

    static byte[] Build(IReadOnlyList<Raw>? parameters, int formatVersion = 1) =>
        AdapterFlatBufferWriter.Build(parameters, formatVersion, adapterVersion: 0, modelVersion: 0);

    // floats < 0 leaves raw_data out (a null byte[] would convert to an empty ReadOnlyMemory, not to null).
    static Raw FloatRaw(string? name, long[]? dims, int floats) =>
        floats < 0 ? new(name, dims, Float, null) : new(name, dims, Float, new byte[floats * sizeof(float)]);

    OnnxAdapterException Refused(byte[] bytes, string source = "bad.onnx_adapter")
    {
        var e = Assert.ThrowsExactly<OnnxAdapterException>(() => OnnxAdapterFile.Read(bytes, source));
        StringAssert.Contains(e.Message, source);
        TestContext.WriteLine(e.Message);
        return e;
    }

    // The position of the first raw_data byte of the parameter with these exact bytes.
    static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);

    [TestMethod]
    public void Read_WhenWrittenToFile_RoundTripsEveryTensorAndVersion()
    {
        var written = Sample();
        string path = Path.Combine(PreparedArtifacts.NewFolder("vblora-onnx-adapter"), "a" + OnnxAdapterFile.Extension);
        OnnxAdapterFile.Write(path, written);

        var read = OnnxAdapterFile.Read(path);

        Assert.AreEqual(1, read.FormatVersion);
        Assert.AreEqual(7, read.AdapterVersion);
        Assert.AreEqual(3, read.ModelVersion);
        CollectionAssert.AreEqual(written.Parameters.Select(p => p.Name).ToArray(), read.Parameters.Select(p => p.Name).ToArray());
        foreach (var (w, r) in written.Parameters.Zip(read.Parameters))
        {
            CollectionAssert.AreEqual(w.Dims.ToArray(), r.Dims.ToArray(), w.Name);
            Assert.AreEqual(w.DataType, r.DataType, w.Name);
            CollectionAssert.AreEqual(w.Data.ToArray(), r.Data.ToArray(), w.Name);
        }
        CollectionAssert.AreEqual(TinyModels.Random(8, 1), read.Find("layer.0/lora_A")!.ToFloats());
        CollectionAssert.AreEqual(new long[] { 5, 0, 7, 1, 2, 3 }, read.Find("bank.topk_indices")!.ToArray<long>());
        CollectionAssert.AreEqual(new short[] { -3, 300 }, read.Find("indices_i16")!.ToArray<short>());
        CollectionAssert.AreEqual(new[] { 0.25 }, read.Find("scale")!.ToArray<double>());
        Assert.AreEqual(0L, read.Find("empty")!.ElementCount);
    }

    [TestMethod]
    public void ToBytes_Always_StartsWithRootOffsetAndTortIdentifierAndAlignsRawDataTo8()
    {
        // Distinct byte patterns so each tensor's data can be found in the buffer.
        var parameters = Enumerable.Range(1, 5)
            .Select(i => OnnxAdapterParameter.FromValues<byte>($"p{i}", [i * 3], Enumerable.Repeat((byte)(0xA0 + i), i * 3).ToArray()))
            .ToList();
        byte[] bytes = OnnxAdapterFile.ToBytes(new OnnxAdapter(parameters));

        Assert.AreEqual("TORT", Encoding.ASCII.GetString(bytes, 4, 4));
        uint root = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        Assert.IsLessThan((uint)bytes.Length, root);
        foreach (var p in parameters)
            Assert.AreEqual(0, IndexOf(bytes, p.Data.ToArray()) % 8, $"{p.Name}'s raw_data starts at an offset that is not a multiple of 8");
    }

    [TestMethod]
    public void Read_WhenVersionsAreDefault_ReturnsZeroAndFormatVersionOne()
    {
        var read = OnnxAdapterFile.Read(OnnxAdapterFile.ToBytes(new OnnxAdapter([OnnxAdapterParameter.Float("a", [1], [1f])])), "mem");

        Assert.AreEqual((1, 0, 0), (read.FormatVersion, read.AdapterVersion, read.ModelVersion));
    }

    [TestMethod]
    public void Read_WhenAdapterHasNoParameters_ReturnsEmptyAdapter()
    {
        Assert.AreEqual(0, OnnxAdapterFile.Read(OnnxAdapterFile.ToBytes(new OnnxAdapter([])), "mem").Parameters.Count);
    }

    [TestMethod]
    public void Read_WhenFileMissing_ThrowsNamingPath()
    {
        string path = Path.Combine(PreparedArtifacts.NewFolder("vblora-onnx-adapter"), "missing.onnx_adapter");

        var e = Assert.ThrowsExactly<OnnxAdapterException>(() => OnnxAdapterFile.Read(path));

        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "not found");
    }

    [TestMethod]
    public void Read_WhenTruncatedAnywhere_ThrowsNamingFile()
    {
        byte[] bytes = OnnxAdapterFile.ToBytes(Sample());
        // Prefixes from the header cut to the last 4 bytes cut. The buffer ends with the first parameter's name (the
        // builder writes back to front): its NUL and up to 3 bytes of padding, which a reader never needs.
        for (int length = 0; length <= bytes.Length - 4; length += Math.Max(1, length / 16))
        {
            var e = Assert.ThrowsExactly<OnnxAdapterException>(() => OnnxAdapterFile.Read(bytes.AsSpan(0, length), "cut.onnx_adapter"), $"length {length}");
            StringAssert.Contains(e.Message, "cut.onnx_adapter");
        }
        StringAssert.Contains(Refused(bytes[..8]).Message, "too short");
        StringAssert.Contains(Refused(bytes[..(bytes.Length / 2)]).Message, "is malformed at byte");
    }

    [TestMethod]
    public void Read_WhenIdentifierIsNotTort_ThrowsSayingWhatItIs()
    {
        byte[] bytes = OnnxAdapterFile.ToBytes(Sample());
        "ORTM"u8.CopyTo(bytes.AsSpan(4));

        var e = Refused(bytes);

        StringAssert.Contains(e.Message, "not an ONNX Runtime adapter file");
        StringAssert.Contains(e.Message, "\"ORTM\"");
    }

    [TestMethod]
    public void Read_WhenFormatVersionIsNotOne_ThrowsNamingVersion()
    {
        foreach (int version in new[] { 0, 2, -1 })
        {
            var e = Refused(Build([FloatRaw("a", [1], 1)], formatVersion: version));
            StringAssert.Contains(e.Message, $"format_version {version}");
        }
    }

    [TestMethod]
    public void Read_WhenParametersVectorAbsent_Throws()
    {
        StringAssert.Contains(Refused(Build(null)).Message, "no parameters vector");
    }

    [TestMethod]
    public void Read_WhenTwoParametersShareName_ThrowsNamingBoth()
    {
        var e = Refused(Build([FloatRaw("A", [1], 1), FloatRaw("B", [1], 1), FloatRaw("A", [1], 1)]));

        StringAssert.Contains(e.Message, "parameters[0] and parameters[2] are both named 'A'");
    }

    [TestMethod]
    public void Read_WhenRawDataLengthDiffersFromShape_ThrowsNamingTensorShapeAndLength()
    {
        foreach (int floats in new[] { 5, 7, 0 })
        {
            var e = Refused(Build([FloatRaw("ok", [2], 2), FloatRaw("lora_B", [2, 3], floats)]));
            StringAssert.Contains(e.Message, "parameter 'lora_B' (parameters[1]) has shape [2,3] of FLOAT (4 bytes each)");
            StringAssert.Contains(e.Message, $"{floats * 4} bytes of raw_data");
        }
    }

    [TestMethod]
    public void Read_WhenDimsOverflowWhenMultiplied_ThrowsInsteadOfWrapping()
    {
        // 2^32 × 2^32 wraps to 0 in 64 bits; with 0 bytes of data a careless product would accept it.
        var e = Refused(Build([FloatRaw("huge", [1L << 32, 1L << 32], 0)]));

        StringAssert.Contains(e.Message, "parameter 'huge'");
    }

    [TestMethod]
    public void Read_WhenNameDimsOrRawDataMissing_ThrowsNamingField()
    {
        StringAssert.Contains(Refused(Build([FloatRaw("a", null, 1)])).Message, "parameter 'a' (parameters[0]) has no dims");
        StringAssert.Contains(Refused(Build([FloatRaw("a", [1], -1)])).Message, "parameter 'a' (parameters[0]) has no raw_data");
        StringAssert.Contains(Refused(Build([FloatRaw(null, [1], 1)])).Message, "parameters[0] has no name");
    }

    [TestMethod]
    public void Read_WhenNameIsEmptyOrHoldsNul_Throws()
    {
        StringAssert.Contains(Refused(Build([FloatRaw("", [1], 1)])).Message, "has name \"\"");
        StringAssert.Contains(Refused(Build([FloatRaw("lora\0A", [1], 1)])).Message, "\"lora\\x00A\"");
    }

    [TestMethod]
    public void Read_WhenDataTypeIsNotOneOrtLoads_ThrowsNamingType()
    {
        foreach (var (type, expected) in new[] { (0, "UNDEFINED"), (8, "STRING"), (9, "BOOL"), (14, "COMPLEX64"), (15, "COMPLEX128"), (21, "UINT4"), (99, "type 99") })
        {
            var e = Refused(Build([new Raw("t", [1], type, new byte[4])]));
            StringAssert.Contains(e.Message, $"parameter 't' (parameters[0]) has data_type {expected}");
        }
    }

    [TestMethod]
    public void Read_WhenParameterIsScalar_ThrowsSayingToUseShapeOne()
    {
        var e = Refused(Build([FloatRaw("scale", [], 1)]));

        StringAssert.Contains(e.Message, "parameter 'scale' (parameters[0]) has no dims");
        StringAssert.Contains(e.Message, "shape [1]");
    }

    [TestMethod]
    public void Read_WhenDimIsNegative_ThrowsNamingDim()
    {
        var e = Refused(Build([FloatRaw("a", [2, -2], 4)]));

        StringAssert.Contains(e.Message, "parameter 'a' (parameters[0]) dims[1] is negative (-2)");
    }

    [TestMethod]
    public void Read_WhenRootOffsetPointsOutside_ThrowsWithOffset()
    {
        byte[] bytes = OnnxAdapterFile.ToBytes(Sample());
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)bytes.Length + 4);

        StringAssert.Contains(Refused(bytes).Message, "is malformed at byte");
    }

    [TestMethod]
    public void Read_WhenBytesAreMutatedAtRandom_ReturnsValidAdapterOrOnnxAdapterException()
    {
        byte[] valid = OnnxAdapterFile.ToBytes(Sample());
        var mutator = new FileMutator(seed: 14);
        var tally = new SortedDictionary<string, int>();
        for (int i = 0; i < 2000; i++)
        {
            var (bytes, kind) = mutator.Mutate(valid);
            string outcome;
            try
            {
                var adapter = OnnxAdapterFile.Read(bytes, "fuzz.onnx_adapter");
                // A valid result is complete: it writes again and reads back the same.
                var again = OnnxAdapterFile.Read(OnnxAdapterFile.ToBytes(adapter), "again");
                Assert.AreEqual(adapter.Parameters.Count, again.Parameters.Count);
                outcome = "valid";
            }
            catch (OnnxAdapterException e)
            {
                StringAssert.Contains(e.Message, "fuzz.onnx_adapter");
                outcome = "refused";
            }
            tally[$"{kind} {outcome}"] = tally.GetValueOrDefault($"{kind} {outcome}") + 1;
        }
        foreach (var (key, count) in tally)
            TestContext.WriteLine($"{key,-20} {count,5}");
        Assert.IsGreaterThan(100, tally.Where(t => t.Key.EndsWith("refused")).Sum(t => t.Value), "the mutations should break most files");
    }

    [TestMethod]
    public void Create_WhenBytesDoNotFillShape_ThrowsArgumentException()
    {
        Assert.ThrowsExactly<ArgumentException>(() => OnnxAdapterParameter.Create("a", [2], Float, new byte[7]));
        Assert.ThrowsExactly<ArgumentException>(() => OnnxAdapterParameter.Create("a", [-1], Float, []));
        Assert.ThrowsExactly<ArgumentException>(() => OnnxAdapterParameter.Create("a", [1], (int)TensorProto.Types.DataType.String, new byte[8]));
        Assert.ThrowsExactly<ArgumentException>(() => OnnxAdapterParameter.Create("", [1], Int64, new byte[8]));
        Assert.ThrowsExactly<ArgumentException>(() => OnnxAdapterParameter.Create("scalar", [], Float, new byte[4]));
        Assert.ThrowsExactly<ArgumentException>(() => OnnxAdapterParameter.Create("mask", [1], (int)TensorProto.Types.DataType.Bool, new byte[1]));
    }

    [TestMethod]
    public void Constructor_WhenNamesRepeat_ThrowsArgumentException()
    {
        var a = OnnxAdapterParameter.Float("a", [1], [1f]);

        Assert.ThrowsExactly<ArgumentException>(() => new OnnxAdapter([a, a]));
    }

    [TestMethod]
    public void ToArray_WhenTypeDiffers_ThrowsNamingBothTypes()
    {
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => OnnxAdapterParameter.Float("a", [1], [1f]).ToArray<long>());

        StringAssert.Contains(e.Message, "holds FLOAT, not INT64");
    }
}
