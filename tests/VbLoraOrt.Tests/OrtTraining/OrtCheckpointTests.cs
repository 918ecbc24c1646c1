using Google.FlatBuffers;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Checkpoints;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// <see cref="OrtCheckpointWriter"/> and <see cref="OrtCheckpointReader"/>: round trips, the layout seen through
/// Google.FlatBuffers' own <c>Table</c> accessors, and every refusal naming what it found. Whether ONNX Runtime
/// itself accepts the files is <see cref="OrtWebTrainingTests"/>'s job.
/// </summary>
[TestClass]
public sealed class OrtCheckpointTests
{
    public TestContext TestContext { get; set; } = null!;

    static OrtCheckpoint Sample() => new(
        [
            new CheckpointTensor("encoder.lora_A", [2, 3], [1f, -2f, 3.5f, 0f, float.Epsilon, -0f]),
            new CheckpointTensor("scale", [], [0.25f]),
            new CheckpointTensor("empty", [2, 0], []),
        ],
        [new CheckpointTensor("encoder.weight", [3], [7f, 8f, 9f])],
        [
            new OrtOptimizerGroup(OrtOptimizerGroup.DefaultName, 41, 3e-4f,
            [
                new ParameterMoments("encoder.lora_A", [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f], [1f, 2f, 3f, 4f, 5f, 6f]),
                new ParameterMoments("scale", [-0.5f], [0.75f]),
                new ParameterMoments("empty", [], []),
            ]),
            new OrtOptimizerGroup("group1", 0, 0f, []),
        ],
        new OrtPropertyBag(
            new Dictionary<string, long> { ["epoch"] = -3, ["rank"] = long.MaxValue },
            new Dictionary<string, float> { ["alpha"] = 16f },
            new Dictionary<string, string> { ["method"] = "vb-lora", ["note"] = "Grüße, 模型 ✓" }));

    [TestMethod]
    public void WriteThenRead_ReturnsEveryTensorGroupAndProperty()
    {
        var original = Sample();
        var read = OrtCheckpointReader.Read(OrtCheckpointWriter.ToBytes(original), "sample");
        AssertSame(original, read);
    }

    [TestMethod]
    public void WriteToPathThenRead_RoundTripsAndLeavesNoTemporaryFile()
    {
        string dir = Directory.CreateTempSubdirectory("vblora-ortckpt").FullName;
        string path = Path.Combine(dir, "checkpoint");
        File.WriteAllText(path, "an older file that the write replaces");
        OrtCheckpointWriter.Write(Sample(), path);
        AssertSame(Sample(), OrtCheckpointReader.Read(path));
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(dir));
        Directory.Delete(dir, recursive: true);
    }

    [TestMethod]
    public void WriteToStreamThenReadStream_RoundTrips()
    {
        using var stream = new MemoryStream();
        OrtCheckpointWriter.Write(Sample(), stream);
        stream.Position = 0;
        AssertSame(Sample(), OrtCheckpointReader.Read(stream, "memory"));
    }

    [TestMethod]
    public void Write_LaysOutTheSchemaAsGoogleFlatBuffersReadsIt()
    {
        var bb = new ByteBuffer(OrtCheckpointWriter.ToBytes(Sample()));
        Assert.IsTrue(Google.FlatBuffers.Table.__has_identifier(bb, "ODTC"), "file identifier");
        var root = At(bb, bb.GetInt(bb.Position) + bb.Position);
        Assert.AreEqual(2, bb.GetInt(root.bb_pos + root.__offset(4)), "Checkpoint.version (id 0)");
        var module = At(bb, root.__indirect(root.bb_pos + root.__offset(6)));
        Assert.AreEqual(3, module.__vector_len(module.__offset(4)), "ModuleState.requires_grad_params (id 0)");
        Assert.AreEqual(1, module.__vector_len(module.__offset(6)), "ModuleState.frozen_params (id 1)");
        var frozen = At(bb, module.__indirect(module.__vector(module.__offset(6))));
        Assert.AreEqual("encoder.weight", frozen.__string(frozen.bb_pos + frozen.__offset(4)), "Tensor.name (id 0)");
        Assert.AreEqual(1, bb.GetInt(frozen.bb_pos + frozen.__offset(10)), "Tensor.data_type (id 3) FLOAT");
        Assert.AreEqual(12, frozen.__vector_len(frozen.__offset(12)), "Tensor.raw_data (id 4) bytes");
        Assert.AreEqual(0, frozen.__offset(16), "Tensor.external_data_offset (id 6) left at its default −1");
        Assert.AreEqual(2, root.__vector_len(root.__offset(8)), "Checkpoint.optimizer_groups (id 2)");
        var group0 = At(bb, root.__indirect(root.__vector(root.__offset(8))));
        Assert.AreEqual("group0", group0.__string(group0.bb_pos + group0.__offset(4)), "OptimizerGroup.group_name (id 0)");
        Assert.AreEqual(41L, bb.GetLong(group0.bb_pos + group0.__offset(6)), "OptimizerGroup.step (id 1)");
        Assert.AreEqual(3e-4f, bb.GetFloat(group0.bb_pos + group0.__offset(8)), "OptimizerGroup.initial_learning_rate (id 2)");
        var state = At(bb, group0.__indirect(group0.__vector(group0.__offset(10))));
        var momentum1 = At(bb, state.__indirect(state.__vector(state.__offset(6)) + 4));
        Assert.AreEqual("momentum1", momentum1.__string(momentum1.bb_pos + momentum1.__offset(4)));
    }

    static Table At(ByteBuffer bb, int position) => new(position, bb);

    [TestMethod]
    public void Write_WithoutProperties_OmitsTheBagAndReadsBackEmpty()
    {
        var checkpoint = new OrtCheckpoint([new CheckpointTensor("w", [1], [1f])], [], [], OrtPropertyBag.Empty);
        var bb = new ByteBuffer(OrtCheckpointWriter.ToBytes(checkpoint));
        var root = At(bb, bb.GetInt(0));
        Assert.AreEqual(0, root.__offset(10), "Checkpoint.property_bag (id 3) absent, as ONNX Runtime writes an empty bag");
        Assert.AreEqual(0, OrtCheckpointReader.Read(bb.ToSizedArray(), "no-bag").Properties.Count);
    }

    [TestMethod]
    public void Read_WhenTheFileIsAnOnnxModel_NamesTheIdentifierFound()
    {
        byte[] onnx = TinyModels.TwoLayerMlp().ToBytesInline();
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(onnx, "model.onnx"));
        StringAssert.Contains(e.Message, "'model.onnx'");
        StringAssert.Contains(e.Message, $"has file identifier \"{System.Text.Encoding.ASCII.GetString(onnx, 4, 4)}\" at bytes 4–7");
        StringAssert.Contains(e.Message, "not an ONNX Runtime training checkpoint");
        Assert.IsInstanceOfType<BadInputException>(e);
    }

    [TestMethod]
    public void Read_WhenTheIdentifierIsNotText_ShowsItsBytesInHex()
    {
        byte[] binary = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(binary, "blob"));
        StringAssert.Contains(e.Message, "has file identifier 0x04050607 at bytes 4–7");
    }

    [TestMethod]
    public void Read_WhenTheIdentifierIsAnotherFlatbuffers_NamesIt()
    {
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(RawCheckpoint.Minimal(identifier: "ORTM"), "model.ort"));
        StringAssert.Contains(e.Message, "file identifier \"ORTM\" at bytes 4–7, not \"ODTC\"");
    }

    [TestMethod]
    public void Read_WhenShorterThanTheHeader_SaysSo()
    {
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(new byte[5], "tiny"));
        StringAssert.Contains(e.Message, "is 5 bytes long, shorter than the 8-byte flatbuffer header");
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(3)]
    [DataRow(0)]
    public void Read_WhenTheVersionIsNot2_NamesTheVersion(int version)
    {
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(RawCheckpoint.Minimal(version), "old.ckpt"));
        StringAssert.Contains(e.Message, $"has checkpoint format version {version}");
        StringAssert.Contains(e.Message, "accept only version 2");
    }

    [TestMethod]
    public void Read_TheIndependentlyBuiltMinimalCheckpoint_ReadsItsTensor()
    {
        var read = OrtCheckpointReader.Read(RawCheckpoint.Minimal(), "minimal");
        Assert.HasCount(1, read.TrainableParameters);
        CollectionAssert.AreEqual(new long[] { 2, 3 }, read.TrainableParameters[0].Dims.ToArray());
        CollectionAssert.AreEqual(new float[] { 1, 2, 3, 4, 5, 6 }, read.TrainableParameters[0].Values);
        Assert.IsEmpty(read.FrozenParameters);
        Assert.IsEmpty(read.OptimizerGroups);
    }

    [TestMethod]
    public void Read_WhenTruncated_ThrowsNamingAnOffsetUnlessOnlyTrailingPaddingIsCut()
    {
        byte[] bytes = OrtCheckpointWriter.ToBytes(Sample());
        int refused = 0;
        for (int length = 0; length < bytes.Length; length++)
        {
            try
            {
                // The builder writes back to front, so the last bytes of the file can be alignment padding that no
                // field points at; losing only those leaves a complete checkpoint.
                AssertSame(Sample(), OrtCheckpointReader.Read(bytes[..length], "cut"));
                Assert.IsGreaterThan(bytes.Length - 4, length, $"truncated to {length} of {bytes.Length} bytes, yet read");
            }
            catch (OrtCheckpointException e)
            {
                refused++;
                if (length >= 8)
                    StringAssert.Contains(e.Message, "byte", $"truncated to {length} bytes: {e.Message}");
            }
        }
        TestContext.WriteLine($"{bytes.Length}-byte checkpoint: {refused} of {bytes.Length} truncations refused");
    }

    [TestMethod]
    public void Read_WhenBytesAreCorrupted_ReadsOrThrowsOnlyCheckpointExceptions()
    {
        byte[] bytes = OrtCheckpointWriter.ToBytes(Sample());
        var rng = new Random(12345);
        int refused = 0, read = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            byte[] damaged = (byte[])bytes.Clone();
            for (int k = rng.Next(1, 5); k > 0; k--)
                damaged[rng.Next(damaged.Length)] = (byte)rng.Next(256);
            try
            {
                OrtCheckpointReader.Read(damaged, "damaged");
                read++;
            }
            catch (OrtCheckpointException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"trial {trial}: {e.GetType().Name} escaped: {e.Message}");
            }
        }
        TestContext.WriteLine($"3000 corrupted copies: {refused} refused, {read} read (changes to values or unused bytes)");
        Assert.IsGreaterThan(0, refused);
    }

    [TestMethod]
    public void Read_WhenFrozenParamsIsMissing_NamesTheFieldOnnxRuntimeRequires()
    {
        var b = new FlatBufferBuilder(256);
        int w = RawCheckpoint.Tensor(b, "w", [1], [1f]);
        byte[] bytes = RawCheckpoint.Finish(b, 2, RawCheckpoint.ModuleState(b, [w], frozen: null));
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(bytes, "no-frozen"));
        StringAssert.Contains(e.Message, "ModuleState.frozen_params is missing; ONNX Runtime requires it");
    }

    [TestMethod]
    public void Read_WhenTheStateIsNominal_Refuses()
    {
        var b = new FlatBufferBuilder(256);
        int w = RawCheckpoint.Tensor(b, "w", [1], []);
        byte[] bytes = RawCheckpoint.Finish(b, 2, RawCheckpoint.ModuleState(b, [w], [], nominal: true));
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(bytes, "nominal"));
        StringAssert.Contains(e.Message, "holds a nominal state");
    }

    [TestMethod]
    public void Read_WhenTensorsUseExternalData_Refuses()
    {
        var b = new FlatBufferBuilder(256);
        int w = RawCheckpoint.Tensor(b, "w", [2], [], externalDataOffset: 128);
        byte[] bytes = RawCheckpoint.Finish(b, 2, RawCheckpoint.ModuleState(b, [w], []));
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(bytes, "external"));
        StringAssert.Contains(e.Message, "tensor 'w' (requires_grad_params[0]) keeps its values in an external data file (offset 128)");
    }

    [TestMethod]
    public void Read_WhenATensorIsNotFloat32_NamesItsDataType()
    {
        var b = new FlatBufferBuilder(256);
        int w = RawCheckpoint.Tensor(b, "ids", [1], [0f, 0f], dataType: RawCheckpoint.Int64);
        byte[] bytes = RawCheckpoint.Finish(b, 2, RawCheckpoint.ModuleState(b, [], [w]));
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(bytes, "int64"));
        StringAssert.Contains(e.Message, "tensor 'ids' (frozen_params[0]) has data type INT64 (7)");
    }

    [TestMethod]
    public void Read_WhenRawDataDoesNotFillTheDims_SaysHowManyBytes()
    {
        var b = new FlatBufferBuilder(256);
        int w = RawCheckpoint.Tensor(b, "w", [2, 3], [1f, 2f]);
        byte[] bytes = RawCheckpoint.Finish(b, 2, RawCheckpoint.ModuleState(b, [w], []));
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(bytes, "short"));
        StringAssert.Contains(e.Message, "dims [2,3] that its 8 bytes of raw_data cannot fill");
    }

    [TestMethod]
    public void Read_WhenTheOptimizerStateIsNotAdamW_NamesTheTensorsFound()
    {
        var b = new FlatBufferBuilder(256);
        int w = RawCheckpoint.Tensor(b, "w", [1], [1f]);
        int momentum = RawCheckpoint.Tensor(b, "momentum0", [1], [0.5f]);
        int state = RawCheckpoint.ParameterState(b, "w", [momentum]);
        int group = RawCheckpoint.Group(b, "group0", 3, 0.1f, [state]);
        byte[] bytes = RawCheckpoint.Finish(b, 2, RawCheckpoint.ModuleState(b, [w], []), [group]);
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(bytes, "sgd"));
        StringAssert.Contains(e.Message, "optimizer group 'group0', parameter 'w' holds the optimizer tensors [momentum0]");
    }

    [TestMethod]
    public void Read_WhenAGroupHasNoName_NamesTheField()
    {
        var b = new FlatBufferBuilder(256);
        int w = RawCheckpoint.Tensor(b, "w", [1], [1f]);
        int group = RawCheckpoint.Group(b, null, 0, 0.1f, []);
        byte[] bytes = RawCheckpoint.Finish(b, 2, RawCheckpoint.ModuleState(b, [w], []), [group]);
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(bytes, "unnamed"));
        StringAssert.Contains(e.Message, "OptimizerGroup.group_name is missing");
    }

    [TestMethod]
    public void Read_WhenAMomentBelongsToNoTrainableParameter_NamesIt()
    {
        var b = new FlatBufferBuilder(256);
        int w = RawCheckpoint.Tensor(b, "w", [1], [1f]);
        int m0 = RawCheckpoint.Tensor(b, "momentum0", [1], [0f]);
        int m1 = RawCheckpoint.Tensor(b, "momentum1", [1], [0f]);
        int state = RawCheckpoint.ParameterState(b, "ghost", [m0, m1]);
        int group = RawCheckpoint.Group(b, "group0", 1, 0.1f, [state]);
        byte[] bytes = RawCheckpoint.Finish(b, 2, RawCheckpoint.ModuleState(b, [w], []), [group]);
        var e = Assert.Throws<OrtCheckpointException>(() => OrtCheckpointReader.Read(bytes, "ghost"));
        StringAssert.Contains(e.Message, "holds a state for 'ghost', which is not among the trainable parameters");
    }

    [TestMethod]
    public void Create_WhenAGroupHasMomentsForSomeParametersOnly_ThrowsNamingTheMissing()
    {
        var e = Assert.Throws<ArgumentException>(() => new OrtCheckpoint(
            [new CheckpointTensor("a", [1], [1f]), new CheckpointTensor("b", [1], [1f])], [],
            [new OrtOptimizerGroup("group0", 1, 0.1f, [new ParameterMoments("a", [0f], [0f])])], OrtPropertyBag.Empty));
        StringAssert.Contains(e.Message, "holds moments for 1 of 2 trainable parameters (missing: b); ONNX Runtime needs all or none");
    }

    [TestMethod]
    public void Create_WhenANameIsBothTrainableAndFrozen_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new OrtCheckpoint(
            [new CheckpointTensor("a", [1], [1f])], [new CheckpointTensor("a", [1], [2f])], [], OrtPropertyBag.Empty));
        StringAssert.Contains(e.Message, "parameter 'a' appears twice");
    }

    [TestMethod]
    public void Create_WhenAPropertyNameHasTwoTypes_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new OrtPropertyBag(
            new Dictionary<string, long> { ["x"] = 1 }, new Dictionary<string, float> { ["x"] = 1f }, new Dictionary<string, string>()));
        StringAssert.Contains(e.Message, "property 'x' is given with two value types");
    }

    static void AssertSame(OrtCheckpoint expected, OrtCheckpoint actual)
    {
        AssertTensors(expected.TrainableParameters, actual.TrainableParameters);
        AssertTensors(expected.FrozenParameters, actual.FrozenParameters);
        Assert.HasCount(expected.OptimizerGroups.Count, actual.OptimizerGroups);
        foreach (var (e, a) in expected.OptimizerGroups.Zip(actual.OptimizerGroups))
        {
            Assert.AreEqual(e.Name, a.Name);
            Assert.AreEqual(e.Step, a.Step, $"group {e.Name} step");
            Assert.AreEqual(e.InitialLearningRate, a.InitialLearningRate, $"group {e.Name} learning rate");
            Assert.HasCount(e.Moments.Count, a.Moments);
            foreach (var (em, am) in e.Moments.Zip(a.Moments))
            {
                Assert.AreEqual(em.ParameterName, am.ParameterName);
                CollectionAssert.AreEqual(em.FirstMoment, am.FirstMoment, $"{em.ParameterName} first moment");
                CollectionAssert.AreEqual(em.SecondMoment, am.SecondMoment, $"{em.ParameterName} second moment");
            }
        }
        CollectionAssert.AreEqual(expected.Properties.Ints.ToList(), actual.Properties.Ints.ToList());
        CollectionAssert.AreEqual(expected.Properties.Floats.ToList(), actual.Properties.Floats.ToList());
        CollectionAssert.AreEqual(expected.Properties.Strings.ToList(), actual.Properties.Strings.ToList());
    }

    static void AssertTensors(IReadOnlyList<CheckpointTensor> expected, IReadOnlyList<CheckpointTensor> actual)
    {
        Assert.HasCount(expected.Count, actual);
        foreach (var (e, a) in expected.Zip(actual))
        {
            Assert.AreEqual(e.Name, a.Name);
            CollectionAssert.AreEqual(e.Dims.ToArray(), a.Dims.ToArray(), $"{e.Name} dims");
            CollectionAssert.AreEqual(e.Values.Select(BitConverter.SingleToInt32Bits).ToArray(),
                a.Values.Select(BitConverter.SingleToInt32Bits).ToArray(), $"{e.Name} values, bit for bit");
        }
    }
}
