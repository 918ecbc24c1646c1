using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Adapters;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Runtime.Serving;
using VbLoraOrt.Runtime.Text;
using VbLoraOrt.Tests.OnnxAdapters;

namespace VbLoraOrt.Tests.Serving;

/// <summary>
/// <see cref="ServingSession"/> on a tiny VB-LoRA serving folder: many adapters in one process, each request answered
/// with its own adapter; adapters that are malformed or made for another model refused naming the tensor, while the
/// session keeps serving the others.
/// </summary>
[TestClass]
public sealed class ServingSessionTests
{
    static readonly string[] Texts = ["hello world", "win free money now", "lunch at noon today", "click the offer"];

    static IAdapterMethod _method = null!;
    static ServingModel _serving = null!;
    static string _folder = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Initialize(TestContext _)
    {
        _method = TinyServing.Method("vblora");
        _serving = TinyServing.Build(_method);
        _folder = TinyServing.WriteFolder(_method, _serving);
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_folder, recursive: true);

    static string WriteAdapter(string name, OnnxAdapter adapter)
    {
        string path = Path.Combine(_folder, name + OnnxAdapterFile.Extension);
        ServingAdapter.Write(path, adapter);
        return path;
    }

    static Dictionary<string, float[]> ValuesOf(int seed) => TinyServing.Values(_serving, seed);

    // The merged model's logits for the texts, tokenized as the session tokenizes them.
    static float[] MergedLogits(IReadOnlyDictionary<string, float[]> values, IEnumerable<string> texts)
    {
        var tokenizer = BertTextTokenizer.Load(Path.Combine(_folder, "vocab.txt"));
        long[][] ids = texts.Select(t => tokenizer.Encode(t, null, 16).Ids.Select(i => (long)i).ToArray()).ToArray();
        using var merged = OrtLoraAdapterTests.NewSession(TinyServing.Merged(_method, _serving, values));
        using var options = new RunOptions();
        return TinyServing.Logits(merged, options, ids);
    }

    [TestMethod]
    public void Run_With100AdaptersInterleaved_EachRequestGetsItsOwnAdapter()
    {
        const int Count = 100;
        using var session = ServingSession.Open(_folder);
        for (int i = 0; i < Count; i++)
            session.Load($"user{i}", WriteAdapter($"user{i}", TinyServing.Adapter(_method, _serving, ValuesOf(1000 + i))));

        // Each adapter alone, in order, one text at a time: its own answers.
        var alone = Enumerable.Range(0, Count).Select(i => Texts.Select(t => session.Run($"user{i}", [t])[0]).ToArray()).ToArray();
        // Then interleaved in a shuffled order, mixing adapters and texts.
        var order = Enumerable.Range(0, Count * Texts.Length).OrderBy(_ => Random.Shared.Next()).ToList();
        foreach (int request in order)
        {
            int user = request % Count, text = request / Count;
            CollectionAssert.AreEqual(alone[user][text], session.Run($"user{user}", [Texts[text]])[0], $"user{user}, text {text}");
        }
        // A few against their own merged models, in one batch of all texts.
        foreach (int user in new[] { 0, 37, 99 })
        {
            float[] served = session.Run($"user{user}", Texts).SelectMany(r => r).ToArray();
            float diff = TinyServing.MaxAbsDiff(MergedLogits(ValuesOf(1000 + user), Texts), served);
            TestContext.WriteLine($"user{user}: max |served - merged| = {diff:g3}");
            Assert.IsLessThanOrEqualTo(1e-4f, diff, $"user{user} = its merged model");
        }
        Assert.IsGreaterThan(1e-3f, TinyServing.MaxAbsDiff(alone[0].SelectMany(r => r).ToArray(), alone[1].SelectMany(r => r).ToArray()),
            "different adapters give different answers");
        Assert.IsTrue(session.Unload("user0"));
        Assert.ThrowsExactly<BadInputException>(() => session.Run("user0", Texts), "an unloaded adapter is not selectable");
        CollectionAssert.AreEqual(alone[1][0], session.Run("user1", [Texts[0]])[0], "the others still serve");
    }

    [TestMethod]
    public void Load_WhenAdapterIsBadOrForAnotherModel_RefusesNamingTheTensor_AndKeepsServing()
    {
        using var session = ServingSession.Open(_folder);
        var goodValues = ValuesOf(7);
        var good = TinyServing.Adapter(_method, _serving, goodValues);
        session.Load("good", WriteAdapter("good", good));
        byte[] bytes = File.ReadAllBytes(Path.Combine(_folder, "good.onnx_adapter"));

        string truncated = Path.Combine(_folder, "truncated.onnx_adapter");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var otherMethod = TinyServing.Method("lora");
        var loraServing = TinyServing.Build(otherMethod);
        string lora = WriteAdapter("lora", TinyServing.Adapter(otherMethod, loraServing, TinyServing.Values(loraServing, 3)));
        var biggerBank = TinyServing.Method("vblora", numVectors: 8);
        var biggerServing = TinyServing.Build(biggerBank);
        string otherShape = WriteAdapter("bank8", TinyServing.Adapter(biggerBank, biggerServing, TinyServing.Values(biggerServing, 3)));
        string indices = good.Parameters.First(p => p.Name.EndsWith("_topk_indices", StringComparison.Ordinal)).Name;
        string otherType = WriteAdapter("int16", Replace(good, indices, p => OnnxAdapterParameter.FromValues<short>(p.Name, p.Dims,
            p.ToArray<byte>().Select(b => (short)b).ToArray())));
        string missing = WriteAdapter("nohead", new OnnxAdapter(good.Parameters.Where(p => p.Name != VbLoraOrt.Contracts.Artifacts.ArtifactNames.HeadBias)));

        var cases = new (string Path, string[] Expected)[]
        {
            (truncated, ["truncated.onnx_adapter", "malformed"]),
            (lora, ["'lora_A.layer1'", "4 of its 6 tensors are not inputs of the vblora serving model"]),
            (otherShape, ["base_model.vblora_vector_bank", "[8,4]", "[6,4]"]),
            (otherType, [indices, "INT16", "UINT8"]),
            (missing, ["does not feed input", "head_classifier_bias"]),
        };
        foreach (var (path, expected) in cases)
        {
            var e = Assert.ThrowsExactly<OnnxAdapterException>(() => session.Load(Path.GetFileNameWithoutExtension(path), path), path);
            TestContext.WriteLine(e.Message);
            foreach (string part in expected)
                StringAssert.Contains(e.Message, part, path);
            Assert.IsFalse(session.Adapters.ContainsKey(Path.GetFileNameWithoutExtension(path)), "nothing loaded under the refused name");
        }

        float[] served = session.Run("good", Texts).SelectMany(r => r).ToArray();
        Assert.IsLessThanOrEqualTo(1e-4f, TinyServing.MaxAbsDiff(MergedLogits(goodValues, Texts), served), "the good adapter still serves");
        Assert.ThrowsExactly<BadInputException>(() => session.Run("lora", Texts), "a refused adapter is not selectable");
    }

    [TestMethod]
    public void Load_WhenAdapterIsForAnotherBaseModel_RefusesNamingBoth_AndKeepsServing()
    {
        const string OtherBase = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        using var session = ServingSession.Open(_folder);
        var values = ValuesOf(8);
        var ours = new OnnxAdapter(TinyServing.Adapter(_method, _serving, values).Parameters, adapterVersion: BaseModelStamp.Of(TinyServing.Info.Sha256));
        var theirs = new OnnxAdapter(ours.Parameters, adapterVersion: BaseModelStamp.Of(OtherBase));
        session.Load("ours", WriteAdapter("ours-base", ours));
        string theirsPath = WriteAdapter("other-base", theirs);

        var e = Assert.ThrowsExactly<OnnxAdapterException>(() => session.Load("theirs", theirsPath));

        TestContext.WriteLine(e.Message);
        StringAssert.Contains(e.Message, "sha256 9f86d08…", "the adapter's base model");
        StringAssert.Contains(e.Message, TinyServing.Info.Sha256, "the serving model's base model");
        Assert.IsFalse(session.Adapters.ContainsKey("theirs"));
        float[] served = session.Run("ours", Texts).SelectMany(r => r).ToArray();
        Assert.IsLessThanOrEqualTo(1e-4f, TinyServing.MaxAbsDiff(MergedLogits(values, Texts), served), "the matching adapter still serves");
    }

    [TestMethod]
    public void Run_WhenAnAdapterIndexesPastTheBank_FailsOnlyItsOwnRequests()
    {
        using var session = ServingSession.Open(_folder);
        var good = TinyServing.Adapter(_method, _serving, ValuesOf(21));
        string indices = good.Parameters.First(p => p.Name.EndsWith("_topk_indices", StringComparison.Ordinal)).Name;
        session.Load("good", WriteAdapter("good21", good));
        session.Load("past", WriteAdapter("past", Replace(good, indices, p => OnnxAdapterParameter.FromValues<byte>(p.Name, p.Dims,
            Enumerable.Repeat((byte)200, (int)p.ElementCount).ToArray()))));

        var e = Assert.ThrowsExactly<BadInputException>(() => session.Run("past", Texts));

        StringAssert.Contains(e.Message, "adapter 'past'");
        Assert.IsLessThanOrEqualTo(1e-4f, TinyServing.MaxAbsDiff(MergedLogits(ValuesOf(21), Texts), session.Run("good", Texts).SelectMany(r => r).ToArray()));
    }

    static OnnxAdapter Replace(OnnxAdapter adapter, string name, Func<OnnxAdapterParameter, OnnxAdapterParameter> change) =>
        new(adapter.Parameters.Select(p => p.Name == name ? change(p) : p));
}
