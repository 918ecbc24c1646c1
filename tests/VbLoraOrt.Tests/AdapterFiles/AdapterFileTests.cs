using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Adapters;

namespace VbLoraOrt.Tests.AdapterFiles;

/// <summary>The adapter file: VB-LoRA's stored form (bank + top-k indices and weights), the head, the metadata, and refusal of bad files.</summary>
[TestClass]
public sealed class AdapterFileTests
{
    public TestContext TestContext { get; set; } = null!;

    static MiniLmArtifacts _artifacts = null!;

    [ClassInitialize]
    public static void Initialize(TestContext _) => _artifacts = MiniLmArtifacts.Prepare();

    [ClassCleanup]
    public static void Cleanup() => _artifacts.Dispose();

    static ArtifactManifest Manifest => _artifacts.Manifest;

    static string TempFile() => _artifacts.NewPath("adapter.safetensors");

    static string SavedTrained(ArtifactManifest manifest, out Dictionary<string, float[]> values)
    {
        values = MiniLmArtifacts.TrainedLooking(manifest);
        string path = TempFile();
        AdapterFile.Save(path, manifest, values);
        return path;
    }

    static Dictionary<string, SafeTensor> ReadTensors(string path) =>
        SafetensorsFile.Read(path).Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);

    // Independent top-k: largest first, equal values by lower index (ONNX TopK).
    static int[] ReferenceTopK(ReadOnlySpan<float> row, int k) =>
        row.ToArray().Select((v, i) => (v, i)).OrderByDescending(e => e.v).ThenBy(e => e.i).Take(k).Select(e => e.i).ToArray();

    static double[] ReferenceSoftmax(ReadOnlySpan<float> row, int[] top)
    {
        var values = new double[top.Length];
        for (int j = 0; j < top.Length; j++)
            values[j] = row[top[j]];
        double max = values.Max();
        var e = values.Select(v => Math.Exp(v - max)).ToArray();
        return e.Select(x => x / e.Sum()).ToArray();
    }

    /// <summary>The manifest with other VB-LoRA options (and optionally fewer targets or another task), as prepare would list it.</summary>
    static ArtifactManifest Derive(VbLoraOptions options, int targets, TaskKind kind = TaskKind.Classify)
    {
        var method = new VbLoraMethod(options);
        var kept = Manifest.Targets.Take(targets).ToList();
        var head = kind == TaskKind.Classify ? Manifest.Trainables.Where(t => t.Group == ParameterGroups.Head) : [];
        return Manifest with
        {
            MethodOptions = method.SaveOptions(),
            Targets = kept,
            Trainables = [.. method.Plan(kept).Parameters, .. head],
            Task = Manifest.Task with { Kind = kind },
        };
    }

    [TestMethod]
    public void Save_ThenRead_FileHoldsBankAndTopKIndicesAndWeightsOfEveryLogitsRow()
    {
        string path = SavedTrained(Manifest, out var values);
        var tensors = ReadTensors(path);
        int h = MiniLmArtifacts.Options.NumVectors, k = MiniLmArtifacts.Options.TopK;

        CollectionAssert.AreEqual(values[VbLoraNames.VectorBank], tensors[VbLoraNames.StoredVectorBank].Floats(), "bank as is");
        int rowsChecked = 0;
        foreach (var target in Manifest.Targets)
            foreach (var (name, key) in new[] { (VbLoraNames.LogitsA(target.Path), VbLoraNames.StoredLogitsA(target.Path)),
                                                (VbLoraNames.LogitsB(target.Path), VbLoraNames.StoredLogitsB(target.Path)) })
            {
                SafeTensor indices = tensors[VbLoraNames.TopKIndices(key)], weights = tensors[VbLoraNames.TopKWeights(key)];
                long[] lead = Manifest.Trainables.Single(t => t.Name == name).Shape[..^1];
                Assert.AreEqual("U8", indices.DType, key);
                CollectionAssert.AreEqual(lead.Append(k).ToArray(), indices.Shape, key);
                CollectionAssert.AreEqual(lead.Append(k - 1).ToArray(), weights.Shape, key);
                float[] stored = weights.Floats();
                for (int row = 0; row < values[name].Length / h; row++, rowsChecked++)
                {
                    var logits = values[name].AsSpan(row * h, h);
                    int[] top = ReferenceTopK(logits, k);
                    CollectionAssert.AreEqual(top, indices.Data.Skip(row * k).Take(k).Select(b => (int)b).ToArray(), $"{key} row {row}");
                    double[] softmax = ReferenceSoftmax(logits, top);
                    for (int j = 0; j < k - 1; j++)
                        Assert.AreEqual(softmax[j], stored[row * (k - 1) + j], 1e-7, $"{key} row {row} weight {j}");
                }
            }
        Assert.AreEqual(12 * (4 * 3 + 3 * 4), rowsChecked, "every sub-vector of 12 targets (A: r·in/b, B: out/b·r)");
    }

    [TestMethod]
    public void Load_RebuildsLogitsAsLogWeightsAtKeptIndicesAndMinusInfinityElsewhere()
    {
        string path = SavedTrained(Manifest, out var values);

        var adapter = AdapterFile.Load(path);

        int h = MiniLmArtifacts.Options.NumVectors, k = MiniLmArtifacts.Options.TopK;
        foreach (var p in adapter.Plan.Parameters.Where(p => p.Group == VbLoraNames.LogitsGroup))
        {
            float[] loaded = adapter.Parameters[p.Name];
            for (int row = 0; row < loaded.Length / h; row++)
            {
                var original = values[p.Name].AsSpan(row * h, h);
                int[] top = ReferenceTopK(original, k);
                double[] softmax = ReferenceSoftmax(original, top);
                for (int j = 0; j < k; j++)
                    Assert.AreEqual(softmax[j], Math.Exp(loaded[row * h + top[j]]), 1e-6, $"{p.Name} row {row} kept index {top[j]}");
                Assert.AreEqual(h - k, loaded.AsSpan(row * h, h).ToArray().Count(float.IsNegativeInfinity), $"{p.Name} row {row}: −∞ off the top-k");
            }
        }
        CollectionAssert.AreEqual(values[VbLoraNames.VectorBank], adapter.Parameters[VbLoraNames.VectorBank], "bank");
    }

    [TestMethod]
    public void Load_ReconstructedLogits_ComposeTheTrainedFactors()
    {
        string path = SavedTrained(Manifest, out var values);
        var method = new VbLoraMethod(MiniLmArtifacts.Options);
        var plan = method.Plan(Manifest.Targets);
        Dictionary<string, float[]> AdapterPart(IReadOnlyDictionary<string, float[]> all) => plan.Parameters.ToDictionary(p => p.Name, p => all[p.Name]);

        var adapter = AdapterFile.Load(path);
        var trained = method.ComputeFactors(plan, AdapterPart(values));
        var stored = method.ComputeFactors(adapter.Plan, AdapterPart(adapter.Parameters));

        float maxA = 0, maxB = 0, scale = 0;
        foreach (var (t, s) in trained.Zip(stored))
        {
            maxA = Math.Max(maxA, AdapterFixtures.MaxAbsDiff(t.A, s.A));
            maxB = Math.Max(maxB, AdapterFixtures.MaxAbsDiff(t.B, s.B));
            scale = Math.Max(scale, t.A.Max(Math.Abs));
        }
        Assert.IsLessThanOrEqualTo(1e-6f, maxA, "A");
        Assert.IsLessThanOrEqualTo(1e-6f, maxB, "B");
        Assert.IsGreaterThan(1e-2f, scale, "the factors are not trivially zero");
    }

    [TestMethod]
    public void Load_ReadsBackMetadataAndRefusesFurtherTraining()
    {
        string path = SavedTrained(Manifest, out _);

        var adapter = AdapterFile.Load(path);

        Assert.AreEqual(Manifest.Method, adapter.Method);
        Assert.AreEqual(MiniLmArtifacts.Options.NumVectors, ((VbLoraMethod)adapter.CreateMethod()).Options.NumVectors);
        CollectionAssert.AreEqual(Manifest.Targets.ToList(), adapter.Targets.ToList(), "targets (path, node, weight, in/out, layout…)");
        Assert.AreEqual(Manifest.Task, adapter.Task);
        Assert.AreEqual(Manifest.BaseModel, adapter.BaseModel, "base model incl. SHA-256");
        Assert.AreEqual(Manifest.Identity, adapter.ArtifactsIdentity);
        Assert.AreEqual(Manifest.TargetSpec, adapter.TargetSpec);
        Assert.IsFalse(adapter.TrainableAgain, "top-k logits with −∞ cannot seed training");
        CollectionAssert.AreEqual(Manifest.Trainables.Select(t => t.Name).ToList(), adapter.Parameters.Keys.ToList(), "every trainable, in manifest order");
    }

    [TestMethod]
    public void Save_StoredParameterCount_EqualsMethodCountAndFileSizeIsReported()
    {
        var values = MiniLmArtifacts.TrainedLooking(Manifest);
        string path = TempFile();
        var method = new VbLoraMethod(MiniLmArtifacts.Options);

        var saved = AdapterFile.Save(path, Manifest, values);
        var loaded = AdapterFile.Load(path).Summary;

        double expected = method.StoredParameterCount(method.Plan(Manifest.Targets));
        TestContext.WriteLine($"{loaded.FileBytes} bytes, {loaded.StoredParameterCount} stored adapter parameters, {loaded.HeadParameterCount} head");
        Assert.AreEqual(expected, loaded.StoredParameterCount, 0.0, "counted from the file's tensors");
        Assert.AreEqual(expected, saved.StoredParameterCount, 0.0, "reported by Save");
        Assert.AreEqual(Manifest.Counts.AdapterStored, loaded.StoredParameterCount, 0.0, "as the manifest announced");
        Assert.AreEqual(new FileInfo(path).Length, loaded.FileBytes);
        Assert.AreEqual(new FileInfo(path).Length, saved.FileBytes);
        Assert.AreEqual(384L * MiniLmArtifacts.Labels + MiniLmArtifacts.Labels, loaded.HeadParameterCount);
    }

    [TestMethod]
    [DataRow(256, "U8")]
    [DataRow(257, "I16")]
    [DataRow(32768, "I16")]
    [DataRow(32769, "I32")]
    public void Save_Indices_UseNarrowestTypeHoldingTheLastBankVector(int h, string dtype)
    {
        var manifest = Derive(new VbLoraOptions { NumVectors = h, VectorLength = 128, Rank = 4, TopK = 2 }, targets: 1);
        var values = MiniLmArtifacts.TrainedLooking(manifest);
        string logitsA = VbLoraNames.LogitsA(manifest.Targets[0].Path);
        values[logitsA][h - 1] = 100f;                                        // row 0 picks the last vector first
        string path = TempFile();

        AdapterFile.Save(path, manifest, values);
        var adapter = AdapterFile.Load(path);

        var indices = ReadTensors(path)[VbLoraNames.TopKIndices(VbLoraNames.StoredLogitsA(manifest.Targets[0].Path))];
        Assert.AreEqual(dtype, indices.DType);
        Assert.AreEqual(0f, adapter.Parameters[logitsA][h - 1], 1e-6f, "index h−1 survives with weight ≈ 1 (log w ≈ 0)");
        Assert.AreEqual(new VbLoraMethod(new VbLoraOptions { NumVectors = h, VectorLength = 128 }).StoredParameterCount(adapter.Plan),
            adapter.Summary.StoredParameterCount, 0.0);
    }

    [TestMethod]
    public void Save_HeadWeight_IsStoredInTorchLayoutAndRestored()
    {
        string path = SavedTrained(Manifest, out var values);
        int hidden = Manifest.BaseModel.HiddenSize, labels = MiniLmArtifacts.Labels;

        var stored = ReadTensors(path)[StoredTensorNames.HeadWeight];
        var adapter = AdapterFile.Load(path);

        CollectionAssert.AreEqual(new long[] { labels, hidden }, stored.Shape, "[labels, hidden] like torch Linear.weight");
        float[] torch = stored.Floats(), graph = values[ArtifactNames.HeadWeight];     // graph: [hidden, labels]
        Assert.AreEqual(graph[5 * labels + 2], torch[2 * hidden + 5], "element (hidden 5, label 2)");
        CollectionAssert.AreEqual(graph, adapter.Parameters[ArtifactNames.HeadWeight], "restored in graph layout");
        CollectionAssert.AreEqual(values[ArtifactNames.HeadBias], adapter.Parameters[ArtifactNames.HeadBias]);
    }

    [TestMethod]
    public void Save_ForEmbedTask_StoresNoHead()
    {
        var manifest = Derive(MiniLmArtifacts.Options, targets: 2, TaskKind.Embed);
        string path = SavedTrained(manifest, out _);

        var adapter = AdapterFile.Load(path);

        Assert.AreEqual(0, adapter.Summary.HeadParameterCount);
        Assert.IsFalse(ReadTensors(path).Keys.Any(k => k.StartsWith("head.", StringComparison.Ordinal)));
        CollectionAssert.AreEquivalent(adapter.Plan.Parameters.Select(p => p.Name).ToList(), adapter.Parameters.Keys.ToList());
    }

    [TestMethod]
    public void Save_WhenLogitsAreMissing_ThrowsNamingTensor()
    {
        var values = MiniLmArtifacts.TrainedLooking(Manifest);
        string missing = VbLoraNames.LogitsB(Manifest.Targets[3].Path);
        values.Remove(missing);

        var e = Assert.ThrowsExactly<AdapterException>(() => AdapterFile.Save(TempFile(), Manifest, values));
        StringAssert.Contains(e.Message, missing);
    }

    [TestMethod]
    public void Save_WhenValueIsNotFinite_ThrowsNamingTensorAndKeepsExistingFile()
    {
        string path = SavedTrained(Manifest, out var values);
        byte[] before = File.ReadAllBytes(path);
        values[VbLoraNames.VectorBank][10] = float.NaN;

        var e = Assert.ThrowsExactly<BadInputException>(() => AdapterFile.Save(path, Manifest, values));
        StringAssert.Contains(e.Message, VbLoraNames.VectorBank);
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path), "the previous adapter file is untouched");
    }

    // ---- bad files -------------------------------------------------------------------------------------------

    static string SavedThenRewritten(Func<List<SafeTensor>, List<SafeTensor>> editTensors, Action<Dictionary<string, string>>? editMetadata = null,
        ArtifactManifest? manifest = null, Dictionary<string, float[]>? values = null)
    {
        manifest ??= Manifest;
        string path = TempFile();
        AdapterFile.Save(path, manifest, values ?? MiniLmArtifacts.TrainedLooking(manifest));
        var (tensors, metadata) = SafetensorsFile.Read(path);
        var meta = metadata.ToDictionary();
        editMetadata?.Invoke(meta);
        SafetensorsFile.Write(path, editTensors(tensors.ToList()), meta);
        return path;
    }

    static string FirstIndices => VbLoraNames.TopKIndices(VbLoraNames.StoredLogitsA(Manifest.Targets[0].Path));

    static string FirstWeights => VbLoraNames.TopKWeights(VbLoraNames.StoredLogitsA(Manifest.Targets[0].Path));

    static List<SafeTensor> Replace(List<SafeTensor> tensors, string name, Func<SafeTensor, SafeTensor> change) =>
        tensors.Select(t => t.Name == name ? change(t) : t).ToList();

    static BadInputException LoadFails(string path)
    {
        var e = Assert.ThrowsExactly<BadInputException>(() => AdapterFile.Load(path));
        StringAssert.Contains(e.Message, path, "the message names the file");
        return e;
    }

    [TestMethod]
    public void Load_WhenTruncated_ThrowsNamingFile()
    {
        string path = SavedTrained(Manifest, out _);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);

        StringAssert.Contains(LoadFails(path).Message, "truncated");
    }

    [TestMethod]
    public void Load_WhenFileIsMissing_ThrowsNamingFile() =>
        LoadFails(Path.Combine(Path.GetTempPath(), "no-such-adapter.safetensors"));

    [TestMethod]
    public void Load_WhenIndexIsOutsideBank_ThrowsNamingTensorAndIndex()
    {
        string path = SavedThenRewritten(t => Replace(t, FirstIndices, x => x with { Data = [(byte)MiniLmArtifacts.Options.NumVectors, .. x.Data[1..]] }));

        var e = LoadFails(path);
        StringAssert.Contains(e.Message, FirstIndices);
        StringAssert.Contains(e.Message, $"index {MiniLmArtifacts.Options.NumVectors}");
    }

    [TestMethod]
    public void Load_WhenRowRepeatsAnIndex_ThrowsNamingRow()
    {
        string path = SavedThenRewritten(t => Replace(t, FirstIndices, x => x with { Data = [x.Data[0], x.Data[0], .. x.Data[2..]] }));

        var e = LoadFails(path);
        StringAssert.Contains(e.Message, $"{FirstIndices}' row [0,0]");
        StringAssert.Contains(e.Message, "twice");
    }

    [TestMethod]
    public void Load_WhenTensorIsMissing_ThrowsNamingIt()
    {
        string path = SavedThenRewritten(t => t.Where(x => x.Name != FirstWeights).ToList());

        StringAssert.Contains(LoadFails(path).Message, $"'{FirstWeights}' is missing");
    }

    [TestMethod]
    public void Load_WhenTensorIsUnexpected_ThrowsNamingIt()
    {
        string path = SavedThenRewritten(t => [.. t, new SafeTensor("base_model.model.pooler.dense.vblora_logits_A_topk_indices", "U8", [1], [0])]);

        StringAssert.Contains(LoadFails(path).Message, "pooler.dense");
    }

    [TestMethod]
    public void Load_WhenIndicesHaveAnotherType_ThrowsNamingTypes()
    {
        string path = SavedThenRewritten(t => Replace(t, FirstIndices, x => x with { DType = "I16", Data = [.. x.Data.SelectMany(b => new byte[] { b, 0 })] }));

        var e = LoadFails(path);
        StringAssert.Contains(e.Message, "is I16, expected U8");
    }

    [TestMethod]
    public void Load_WhenWeightExceedsOne_Throws()
    {
        string path = SavedThenRewritten(t => Replace(t, FirstWeights, x => x with { Data = [.. BitConverter.GetBytes(1.5f), .. x.Data[4..]] }));

        StringAssert.Contains(LoadFails(path).Message, "must lie in [0, 1]");
    }

    [TestMethod]
    public void Load_WhenWeightsSumToMoreThanOne_Throws()
    {
        var manifest = Derive(new VbLoraOptions { NumVectors = 64, VectorLength = 128, TopK = 3 }, targets: 1);
        string weights = VbLoraNames.TopKWeights(VbLoraNames.StoredLogitsA(manifest.Targets[0].Path));
        string path = SavedThenRewritten(t => Replace(t, weights, x => x with { Data = [.. BitConverter.GetBytes(0.6f), .. BitConverter.GetBytes(0.6f), .. x.Data[8..]] }),
            manifest: manifest);

        StringAssert.Contains(LoadFails(path).Message, "more than 1");
    }

    [TestMethod]
    public void Load_WhenMetadataIsMissing_ThrowsNamingKey()
    {
        string path = SavedThenRewritten(t => t, m => m.Remove("targets"));

        StringAssert.Contains(LoadFails(path).Message, "metadata 'targets' is missing");
    }

    [TestMethod]
    public void Load_WhenTargetIsIncomplete_ThrowsNamingKey()
    {
        string path = SavedThenRewritten(t => t, m => m["targets"] = m["targets"].Replace("\"inFeatures\":384", "\"inFeatures\":0"));

        StringAssert.Contains(LoadFails(path).Message, "metadata 'targets' has an incomplete target");
    }

    [TestMethod]
    public void Load_WhenOptionsDisagreeWithTensors_ThrowsNamingShape()
    {
        string path = SavedThenRewritten(t => t, m => m["method_options"] = m["method_options"].Replace("\"numVectors\":64", "\"numVectors\":128"));

        StringAssert.Contains(LoadFails(path).Message, "expected [128,128]");
    }
}
