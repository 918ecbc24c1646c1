using Microsoft.ML.OnnxRuntime;
using Onnx;
using Raw = VbLoraOrt.OrtFormats.Adapters.AdapterFlatBufferWriter.RawParameter;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Tests.Reliability;
using VbLoraOrt.Tests.Support;
using static VbLoraOrt.Tests.OnnxAdapters.AdapterModels;

namespace VbLoraOrt.Tests.OnnxAdapters;

/// <summary>
/// Our adapter files through ONNX Runtime's own loader (<see cref="OrtLoraAdapter"/>) and per-run activation
/// (<see cref="RunOptions.AddActiveLoraAdapter"/>) on a tiny model whose adapter tensors are graph inputs with
/// initializer defaults; and what ONNX Runtime 1.31.1 does with adapters that do not fit, recorded as assertions so
/// that a change of behaviour in a later version shows.
/// </summary>
[TestClass]
public sealed class OrtLoraAdapterTests
{
    const float Tolerance = 1e-6f;
    static readonly float[] X = TinyModels.Random(3 * In, seed: 21);

    public TestContext TestContext { get; set; } = null!;

    static string _folder = null!;
    static InferenceSession _session = null!;

    [ClassInitialize]
    public static void Initialize(TestContext _)
    {
        _folder = PreparedArtifacts.NewFolder("vblora-ort-adapter");
        _session = NewSession(LowRank());
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        _session.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    internal static InferenceSession NewSession(OnnxModel model)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        return new InferenceSession(model.ToBytesInline(), options);
    }

    /// <summary>A low-rank adapter with seeded A [4,2] and B [2,3], written to a file; returns the path.</summary>
    static string WriteLowRank(int seed, out float[] a, out float[] b, string nameA = "lora_A", string nameB = "lora_B")
    {
        a = TinyModels.Random(In * Rank, seed);
        b = TinyModels.Random(Rank * Out, seed + 1000);
        string path = Path.Combine(_folder, $"adapter-{seed}-{Guid.NewGuid():N}.onnx_adapter");
        OnnxAdapterFile.Write(path, new OnnxAdapter(
            [OnnxAdapterParameter.Float(nameA, [In, Rank], a), OnnxAdapterParameter.Float(nameB, [Rank, Out], b)]));
        return path;
    }

    static string WriteRaw(params Raw[] parameters)
    {
        string path = Path.Combine(_folder, $"raw-{Guid.NewGuid():N}.onnx_adapter");
        File.WriteAllBytes(path, AdapterFlatBufferWriter.Build(parameters, 1, 0, 0));
        return path;
    }

    static Raw FloatRaw(string name, long[] dims, float[] values) =>
        new(name, dims, (int)TensorProto.Types.DataType.Float, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    internal static float[] RunY(InferenceSession session, RunOptions options, float[] x)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(x, [x.Length / In, In]);
        using var results = session.Run(options, ["x"], [input], ["y"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    // One run of the shared session on X with these adapters active, in this order.
    static float[] RunWith(params OrtLoraAdapter[] adapters) => RunOn(_session, adapters);

    static float[] RunOn(InferenceSession session, params OrtLoraAdapter[] adapters)
    {
        using var options = new RunOptions();
        foreach (var adapter in adapters)
            options.AddActiveLoraAdapter(adapter);
        return RunY(session, options, X);
    }

    static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        float max = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.IsLessThanOrEqualTo(Tolerance, max, $"{what}: max |difference| {max}");
    }

    // The message of the OnnxRuntimeException that action throws (it must throw one).
    string OrtError(Action action)
    {
        var e = Assert.ThrowsExactly<OnnxRuntimeException>(action);
        TestContext.WriteLine(e.Message);
        return e.Message;
    }

    [TestMethod]
    public void Run_WithAdapterLoadedFromFile_MatchesReference()
    {
        string path = WriteLowRank(1, out var a, out var b);
        using var adapter = OrtLoraAdapter.Create(path, null);

        AssertClose(LowRankReference(X, a, b), RunWith(adapter), "adapter from file");
    }

    [TestMethod]
    public void Run_WithAdapterLoadedFromBytes_MatchesReference()
    {
        string path = WriteLowRank(2, out var a, out var b);
        using var adapter = OrtLoraAdapter.Create(File.ReadAllBytes(path), null);

        AssertClose(LowRankReference(X, a, b), RunWith(adapter), "adapter from bytes");
    }

    [TestMethod]
    public void Run_WithoutAdapter_UsesInitializerDefaults()
    {
        using var options = new RunOptions();

        float[] y = RunY(_session, options, X);

        AssertClose(LowRankReference(X, new float[In * Rank], new float[Rank * Out]), y, "no adapter");
        Assert.IsTrue(y.Any(v => v != 0), "x·W is not all zeros");
    }

    [TestMethod]
    public void Run_WhenAdaptersInterleavedOnOneSession_EachRunGetsItsOwnAdapter()
    {
        const int Adapters = 5;
        var adapters = new List<(OrtLoraAdapter Adapter, RunOptions Options, float[] Expected)>();
        try
        {
            for (int i = 0; i < Adapters; i++)
            {
                string path = WriteLowRank(100 + i, out var a, out var b);
                var adapter = OrtLoraAdapter.Create(path, null);
                var options = new RunOptions();
                options.AddActiveLoraAdapter(adapter);
                adapters.Add((adapter, options, LowRankReference(X, a, b)));
            }
            using var none = new RunOptions();
            float[] noAdapter = LowRankReference(X, new float[In * Rank], new float[Rank * Out]);
            var order = new Random(7);
            for (int run = 0; run < 60; run++)
            {
                int pick = order.Next(Adapters + 1); // Adapters = no adapter
                if (pick == Adapters)
                    AssertClose(noAdapter, RunY(_session, none, X), $"run {run}: no adapter");
                else
                    AssertClose(adapters[pick].Expected, RunY(_session, adapters[pick].Options, X), $"run {run}: adapter {pick}");
            }
            // The same from two threads at once: a session serves concurrent runs with different adapters.
            Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 2 }, run =>
            {
                var (_, options, expected) = adapters[run % Adapters];
                AssertClose(expected, RunY(_session, options, X), $"parallel run {run}");
            });
        }
        finally
        {
            // RunOptions hold raw pointers to the adapters: release them before the adapters.
            foreach (var (adapter, options, _) in adapters)
            {
                options.Dispose();
                adapter.Dispose();
            }
        }
    }

    [TestMethod]
    public void Run_WhenTwoActiveAdaptersFeedDifferentInputs_FeedsBoth()
    {
        var a = TinyModels.Random(In * Rank, 31);
        var b = TinyModels.Random(Rank * Out, 32);
        using var onlyA = OrtLoraAdapter.Create(File.ReadAllBytes(WriteRaw(FloatRaw("lora_A", [In, Rank], a))), null);
        using var onlyB = OrtLoraAdapter.Create(File.ReadAllBytes(WriteRaw(FloatRaw("lora_B", [Rank, Out], b))), null);

        AssertClose(LowRankReference(X, a, b), RunWith(onlyA, onlyB), "A from one adapter, B from another");
    }

    [TestMethod]
    public void Run_WhenInputNamesHoldDotsAndSlashes_Works()
    {
        const string A = "/encoder/layer.0/attention/self/query/lora_A", B = "/encoder/layer.0/attention/self/query/lora_B";
        using var session = NewSession(LowRank(A, B));
        string path = WriteLowRank(3, out var a, out var b, A, B);
        using var adapter = OrtLoraAdapter.Create(path, null);

        AssertClose(LowRankReference(X, a, b), RunOn(session, adapter), "dotted and slashed names");
    }

    [TestMethod]
    public void Run_WhenAdapterFeedsIntegerInputs_GathersTheRowsItNames()
    {
        using var session = NewSession(IndexedBank());
        long[] i64 = [7, 2];
        byte[] u8 = [5, 3];
        short[] i16 = [6, 1];
        byte[] file = OnnxAdapterFile.ToBytes(new OnnxAdapter(
        [
            OnnxAdapterParameter.FromValues<long>("idx_i64", [2], i64),
            OnnxAdapterParameter.FromValues<byte>("idx_u8", [2], u8),
            OnnxAdapterParameter.FromValues<short>("idx_i16", [2], i16),
        ]));
        using var adapter = OrtLoraAdapter.Create(file, null);
        using var options = new RunOptions();
        options.AddActiveLoraAdapter(adapter);

        using var results = session.Run(options, [], [], ["rows_i64", "rows_u8", "rows_i16"]);

        CollectionAssert.AreEqual(BankRowsAt(i64), results[0].GetTensorDataAsSpan<float>().ToArray(), "int64 indices");
        CollectionAssert.AreEqual(BankRowsAt(u8.Select(v => (long)v)), results[1].GetTensorDataAsSpan<float>().ToArray(), "uint8 indices");
        CollectionAssert.AreEqual(BankRowsAt(i16.Select(v => (long)v)), results[2].GetTensorDataAsSpan<float>().ToArray(), "int16 indices");
    }

    [TestMethod]
    public void Run_WhenAdapterLoadedFromFile_ReadsTheMappedFileEachRunWithoutACopy()
    {
        // ONNX Runtime maps the file and lays each parameter's OrtValue over the mapped bytes. Rewriting B in place
        // (same file, same offset) after loading changes the next run: nothing was copied at load, or is per run.
        string path = WriteLowRank(4, out var a, out var b);
        var b2 = TinyModels.Random(Rank * Out, 44);
        using var adapter = OrtLoraAdapter.Create(path, null);
        AssertClose(LowRankReference(X, a, b), RunWith(adapter), "before the rewrite");

        byte[] bytes = File.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()));
        Assert.IsGreaterThan(0, at);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            stream.Position = at;
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(b2.AsSpan()));
        }

        AssertClose(LowRankReference(X, a, b2), RunWith(adapter), "after rewriting B in the file");
    }

    [TestMethod]
    public void Run_WhenAdapterLoadedFromBytes_KeepsItsOwnCopy()
    {
        string path = WriteLowRank(5, out var a, out var b);
        byte[] bytes = File.ReadAllBytes(path);
        using var adapter = OrtLoraAdapter.Create(bytes, null);

        Array.Clear(bytes);

        AssertClose(LowRankReference(X, a, b), RunWith(adapter), "after clearing the caller's array");
    }

    [TestMethod]
    public void Session_ListsInputsWithDefaultsAsOverridableInitializers_NotAsInputs()
    {
        CollectionAssert.AreEquivalent(new[] { "x" }, _session.InputMetadata.Keys.ToArray());
        CollectionAssert.AreEquivalent(new[] { "lora_A", "lora_B" }, _session.OverridableInitializerMetadata.Keys.ToArray());
        CollectionAssert.AreEqual(new[] { In, Rank }, _session.OverridableInitializerMetadata["lora_A"].Dimensions);
    }

    [TestMethod]
    public void OrtLoad_WhenGivenTheCpuAllocator_Fails_BecauseItTakesDeviceAllocatorsOnly()
    {
        string path = WriteLowRank(7, out _, out _);

        string error = OrtError(() => OrtLoraAdapter.Create(path, OrtAllocator.DefaultInstance).Dispose());

        StringAssert.Contains(error, "The specified allocator must be a device allocator");
    }

    // ---- What ONNX Runtime 1.31.1 does with adapters that do not fit, and our checks that catch them first ----

    [TestMethod]
    public void OrtRun_WhenAdapterDoesNotFitModel_LoadsButFailsTheRun_AndContractRefusesAtLoad()
    {
        var cases = new (string Case, Raw Parameter, string OrtSays, string WeSay)[]
        {
            ("name of no graph input", FloatRaw("lora_C", [In, Rank], new float[In * Rank]),
                "[ErrorCode:InvalidArgument] Invalid input name: lora_C", "parameter 'lora_C' feeds no graph input"),
            ("other shape", FloatRaw("lora_B", [Rank, Out + 1], new float[Rank * (Out + 1)]),
                "[ErrorCode:InvalidArgument] Got invalid dimensions for input: lora_B for the following indices\n index: 1 Got: 4 Expected: 3",
                "parameter 'lora_B' has shape [2,4] but input 'lora_B' is [2,3] (dim 1 differs)"),
            ("zero-sized dim", FloatRaw("lora_B", [0, Out], []),
                "Got invalid dimensions for input: lora_B", "parameter 'lora_B' has shape [0,3] but input 'lora_B' is [2,3]"),
            ("other type", new Raw("lora_B", [Rank, Out], (int)TensorProto.Types.DataType.Double, new byte[Rank * Out * 8]),
                "[ErrorCode:InvalidArgument] Unexpected input data type. Actual: (tensor(double)) , expected: (tensor(float))",
                "parameter 'lora_B' is DOUBLE but input 'lora_B' is FLOAT"),
        };
        foreach (var (name, parameter, ortSays, weSay) in cases)
        {
            string path = WriteRaw(parameter);
            using var adapter = OrtLoraAdapter.Create(path, null); // loading succeeds: an adapter knows no model

            StringAssert.Contains(OrtError(() => RunWith(adapter)), ortSays, name);
            StringAssert.Contains(string.Join("; ", Contract.FindMismatches(OnnxAdapterFile.Read(path))), weSay, name);
        }
    }

    [TestMethod]
    public void OrtLoad_WhenFileTruncated_Fails_AndReaderRefuses()
    {
        string path = WriteLowRank(6, out _, out _);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        string error = OrtError(() => OrtLoraAdapter.Create(path, null).Dispose());

        StringAssert.Contains(error, "The buffer fails lora adapter format verification");
        Assert.ThrowsExactly<OnnxAdapterException>(() => OnnxAdapterFile.Read(path));
    }

    [TestMethod]
    public void OrtLoad_WhenFormatVersionIsTwo_Fails_AndReaderRefuses()
    {
        byte[] bytes = AdapterFlatBufferWriter.Build([FloatRaw("lora_A", [In, Rank], new float[In * Rank])], 2, 0, 0);

        string error = OrtError(() => OrtLoraAdapter.Create(bytes, null).Dispose());

        StringAssert.Contains(error, "Unsupported lora format version");
        Assert.ThrowsExactly<OnnxAdapterException>(() => OnnxAdapterFile.Read(bytes, "v2"));
    }

    [TestMethod]
    public void OrtRun_WhenNameRepeats_SilentlyUsesTheFirst_AndReaderRefuses()
    {
        var a = TinyModels.Random(In * Rank, 51);
        var first = TinyModels.Random(Rank * Out, 52);
        var second = TinyModels.Random(Rank * Out, 53);
        byte[] bytes = AdapterFlatBufferWriter.Build(
            [FloatRaw("lora_A", [In, Rank], a), FloatRaw("lora_B", [Rank, Out], first), FloatRaw("lora_B", [Rank, Out], second)], 1, 0, 0);
        using var adapter = OrtLoraAdapter.Create(bytes, null);

        AssertClose(LowRankReference(X, a, first), RunWith(adapter), "ORT with a repeated name");
        Assert.ThrowsExactly<OnnxAdapterException>(() => OnnxAdapterFile.Read(bytes, "repeated"));
    }

    [TestMethod]
    public void OrtLoad_WhenParameterMalformed_FailsWithItsOwnMessage_AndReaderRefuses()
    {
        const int F = (int)TensorProto.Types.DataType.Float;
        var cases = new (string Case, Raw Parameter, string OrtSays, string WeSay)[]
        {
            ("raw_data 3 floats long", FloatRaw("lora_B", [Rank, Out], new float[Rank * Out + 3]),
                "Lora Param 'lora_B': raw_data size (36) does not match expected size (24)", "36 bytes of raw_data"),
            ("raw_data 2 floats short", FloatRaw("lora_B", [Rank, Out], new float[Rank * Out - 2]),
                "Lora Param 'lora_B': raw_data size (16) does not match expected size (24)", "16 bytes of raw_data"),
            ("scalar", FloatRaw("lora_B", [], [1f]), "Lora Param 'lora_B': dims is missing or empty", "has no dims"),
            ("no dims", new Raw("lora_B", null, F, new byte[24]), "Lora Param 'lora_B': dims is missing or empty", "has no dims field"),
            ("no raw_data", new Raw("lora_B", [Rank, Out], F, null), "Lora Param 'lora_B': raw_data is missing", "has no raw_data field"),
            ("no name", new Raw(null, [Rank, Out], F, new byte[24]), "Lora Parameter: name is missing", "has no name"),
            ("negative dims", FloatRaw("lora_B", [-2, -3], new float[6]), "Integer overflow", "dims[0] is negative"),
            ("dims whose product overflows", FloatRaw("lora_B", [1L << 32, 1L << 32], []), "Integer overflow", "has shape [4294967296,4294967296]"),
            ("BOOL", new Raw("lora_B", [Rank, Out], (int)TensorProto.Types.DataType.Bool, new byte[6]),
                "Lora Param 'lora_B': data_type '9' is not a supported LoRA parameter type", "has data_type BOOL"),
            ("COMPLEX64", new Raw("lora_B", [Rank, Out], (int)TensorProto.Types.DataType.Complex64, new byte[48]),
                "data_type '14' is not a supported LoRA parameter type", "has data_type COMPLEX64"),
            ("STRING", new Raw("lora_B", [Rank, Out], (int)TensorProto.Types.DataType.String, new byte[48]),
                "data_type '8' is not a supported LoRA parameter type", "has data_type STRING"),
            ("UNDEFINED", new Raw("lora_B", [Rank, Out], 0, new byte[24]), "data_type '0' is not a supported LoRA parameter type", "has data_type UNDEFINED"),
        };
        foreach (var (name, parameter, ortSays, weSay) in cases)
        {
            byte[] bytes = AdapterFlatBufferWriter.Build([parameter], 1, 0, 0);
            var ort = Assert.ThrowsExactly<OnnxRuntimeException>(() => OrtLoraAdapter.Create(bytes, null).Dispose(), name);
            StringAssert.Contains(ort.Message, ortSays, name);
            var ours = Assert.ThrowsExactly<OnnxAdapterException>(() => OnnxAdapterFile.Read(bytes, "case"), name);
            StringAssert.Contains(ours.Message, weSay, name);
        }
    }

    [TestMethod]
    public void OrtRun_WhenNameIsEmpty_FailsEveryRun_AndReaderRefuses()
    {
        byte[] bytes = AdapterFlatBufferWriter.Build([FloatRaw("", [Rank, Out], new float[Rank * Out])], 1, 0, 0);
        using var adapter = OrtLoraAdapter.Create(bytes, null);

        StringAssert.Contains(OrtError(() => RunWith(adapter)), "input name cannot be empty");
        Assert.ThrowsExactly<OnnxAdapterException>(() => OnnxAdapterFile.Read(bytes, "empty name"));
    }

    [TestMethod]
    public void OrtRun_WhenNameHoldsNul_SilentlyFeedsTheNameCutThere_AndReaderRefuses()
    {
        var a = TinyModels.Random(In * Rank, 63);
        var b = TinyModels.Random(Rank * Out, 64);
        byte[] bytes = AdapterFlatBufferWriter.Build(
            [FloatRaw("lora_A\0whatever", [In, Rank], a), FloatRaw("lora_B", [Rank, Out], b)], 1, 0, 0);
        using var adapter = OrtLoraAdapter.Create(bytes, null);

        AssertClose(LowRankReference(X, a, b), RunWith(adapter), "'lora_A\\0whatever' fed as lora_A");
        Assert.ThrowsExactly<OnnxAdapterException>(() => OnnxAdapterFile.Read(bytes, "nul"));
    }

    [TestMethod]
    public void OrtRun_WhenAdapterFeedsAnInputTheCallerFeeds_SilentlyUsesTheAdapters_AndContractRefuses()
    {
        var adapterX = TinyModels.Random(In, 91);
        string path = WriteRaw(FloatRaw("x", [1, In], adapterX));
        using var adapter = OrtLoraAdapter.Create(path, null);

        float[] y = RunWith(adapter); // the caller fed x [3,4] too

        AssertClose(LowRankReference(adapterX, new float[In * Rank], new float[Rank * Out]), y, "y from the adapter's x [1,4]");
        var contract = AdapterInputContract.FromModel(LowRank(), requestInputs: ["x"]);
        StringAssert.Contains(string.Join("; ", contract.FindMismatches(OnnxAdapterFile.Read(path))), "parameter 'x' names input 'x', which each request feeds");
    }

    [TestMethod]
    public void OrtRun_WhenTwoActiveAdaptersFeedTheSameInput_SilentlyUsesTheLastAdded()
    {
        using var first = OrtLoraAdapter.Create(WriteLowRank(81, out _, out _), null);
        using var last = OrtLoraAdapter.Create(WriteLowRank(82, out var a, out var b), null);

        AssertClose(LowRankReference(X, a, b), RunWith(first, last), "both adapters feed lora_A and lora_B");
    }

    // Where we are stricter (ORT loads, we refuse), the reasons seen are the intended ones: empty names, names holding
    // a NUL, names that are not UTF-8, a field outside its table.
    [TestMethod]
    public void Reader_OnMutatedFiles_NeverAcceptsWhatOrtRefuses()
    {
        byte[] valid = OnnxAdapterFile.ToBytes(new OnnxAdapter(
        [
            OnnxAdapterParameter.Float("lora_A", [In, Rank], TinyModels.Random(In * Rank, 1)),
            OnnxAdapterParameter.Float("lora_B", [Rank, Out], TinyModels.Random(Rank * Out, 2)),
            OnnxAdapterParameter.FromValues<long>("topk", [2, 2], [3, 1, 0, 2]),
        ], adapterVersion: 2, modelVersion: 5));
        var mutator = new Reliability.FileMutator(seed: 141);
        var tally = new SortedDictionary<string, int>();
        var acceptedByUsOnly = new List<string>();
        for (int i = 0; i < 2000; i++)
        {
            var (bytes, kind) = mutator.Mutate(valid);
            bool ours = Accepts(() => OnnxAdapterFile.Read(bytes, "fuzz"), typeof(OnnxAdapterException));
            bool ort = Accepts(() => OrtLoraAdapter.Create(bytes, null).Dispose(), typeof(OnnxRuntimeException));
            string key = $"ours {(ours ? "accepts" : "refuses")}, ORT {(ort ? "loads" : "refuses")}";
            tally[key] = tally.GetValueOrDefault(key) + 1;
            if (ours && !ort)
                acceptedByUsOnly.Add($"case {i} ({kind}, {bytes.Length} bytes)");
        }
        foreach (var (key, count) in tally)
            TestContext.WriteLine($"{key,-32} {count,5}");
        Assert.IsEmpty(acceptedByUsOnly, string.Join("; ", acceptedByUsOnly.Take(10)));
    }

    // True when action returns, false when it throws the expected refusal; any other exception fails the test.
    static bool Accepts(Action action, Type refusal)
    {
        try
        {
            action();
            return true;
        }
        catch (Exception e) when (e.GetType() == refusal)
        {
            return false;
        }
    }

    static AdapterInputContract Contract => AdapterInputContract.FromModel(LowRank());
}
