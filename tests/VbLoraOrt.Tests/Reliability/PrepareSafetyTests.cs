using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Cli;
using VbLoraOrt.GraphBuilder.Text;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runner;
using VbLoraOrt.Tests.OrtTraining;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// <c>prepare</c> never destroys what is already in <c>--out</c> (DESIGN.md §8): it builds beside the folder and swaps in
/// only a complete set, so a prepare that fails leaves the folder byte for byte; a folder holding files needs
/// <c>--overwrite</c>, which replaces only an earlier prepare's files (its <c>ort/</c> folder included). The limits the model
/// sets (positions, token-table rows) are checked when the command starts, and lower-casing follows the vocabulary.
/// The one-layer BERT-shaped model (20 token rows) keeps each prepare well under a second.
/// </summary>
[TestClass]
public sealed class PrepareSafetyTests
{
    static string _dir = null!, _model = null!;
    static readonly string[] Specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    [ClassInitialize]
    public static void WriteModel(TestContext _)
    {
        _dir = PreparedArtifacts.NewFolder("vblora-prepare-safety");
        _model = Path.Combine(_dir, "tiny_encoder.onnx");
        TinyTransformer.Write(_model);
    }

    [ClassCleanup]
    public static void Delete()
    {
        if (_dir != null && Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    static (int Code, string Error) Prepare(string outDir, params string[] extra)
    {
        var error = new StringWriter();
        int code = GraphCli.Run(["prepare", "--model", _model, "--method", "lora", "--rank", "2", "--targets", "query,value", "--out", outDir, .. extra],
            new StringWriter(), error);
        return (code, error.ToString());
    }

    static string Vocab(string name, params string[] tokens)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllLines(path, Specials.Concat(tokens));
        return path;
    }

    // Every file under the folder, by relative path.
    static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), Hashing.Sha256File);

    static void AssertUnchanged(Dictionary<string, string> before, string dir)
    {
        var after = Snapshot(dir);
        CollectionAssert.AreEquivalent(before.Keys.ToList(), after.Keys.ToList(), "same files");
        foreach (var (name, hash) in before)
            Assert.AreEqual(hash, after[name], $"{name} changed");
    }

    static string[] StagingLeftovers(string outDir) =>
        Directory.GetFileSystemEntries(Path.GetDirectoryName(outDir)!, ".*staging*");

    [TestMethod]
    public void Prepare_ThatFailsOverAnEarlierPrepare_LeavesTheFolderByteForByte()
    {
        string outDir = Path.Combine(_dir, "earlier");
        Assert.AreEqual(ExitCodes.Ok, Prepare(outDir, "--format", "ort").Code);
        var before = Snapshot(outDir);

        var error = new StringWriter();
        int code = GraphCli.Run(["prepare", "--model", _model, "--method", "lora", "--rank", "2", "--targets", "no_such_module",
            "--out", outDir, "--overwrite"], new StringWriter(), error);

        Assert.IsTrue(code is ExitCodes.Usage or ExitCodes.BadInput, error.ToString());
        StringAssert.Contains(error.ToString(), "no_such_module");
        AssertUnchanged(before, outDir);
        Assert.IsEmpty(StagingLeftovers(outDir), "the staging folder is removed");
    }

    [TestMethod]
    public void Prepare_IntoAFolderHoldingFiles_IsRefusedOfferingOverwrite_AndNothingChanges()
    {
        string outDir = Directory.CreateDirectory(Path.Combine(_dir, "user-folder")).FullName;
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");
        var before = Snapshot(outDir);

        var (code, error) = Prepare(outDir);

        Assert.AreEqual(ExitCodes.Usage, code, error);
        StringAssert.Contains(error, "--overwrite");
        StringAssert.Contains(error, "notes.txt");
        AssertUnchanged(before, outDir);
    }

    [TestMethod]
    public void Prepare_WithOverwrite_ReplacesOnlyTheEarlierPreparesFiles_ItsOrtFolderIncluded()
    {
        string outDir = Path.Combine(_dir, "again");
        Assert.AreEqual(ExitCodes.Ok, Prepare(outDir, "--format", "ort").Code);
        Assert.IsTrue(Directory.Exists(Path.Combine(outDir, "ort")));
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");

        var (code, error) = Prepare(outDir, "--overwrite");

        Assert.AreEqual(ExitCodes.Ok, code, error);
        Assert.AreEqual("mine", File.ReadAllText(Path.Combine(outDir, "notes.txt")));
        Assert.IsFalse(Directory.Exists(Path.Combine(outDir, "ort")), "the earlier prepare's ort/ is not left describing other artifacts");
        var manifest = ArtifactManifest.Load(Path.Combine(outDir, ArtifactNames.Manifest));
        manifest.VerifyFiles(outDir);
        CollectionAssert.DoesNotContain(manifest.Files!.Keys.ToList(), "notes.txt");
    }

    [TestMethod]
    public void Prepare_WithOverwrite_WhenAFileOfTheUsersHasAnArtifactsName_IsRefusedAndKeepsIt()
    {
        string outDir = Directory.CreateDirectory(Path.Combine(_dir, "name-taken")).FullName;
        File.WriteAllText(Path.Combine(outDir, ArtifactNames.TrainingModel), "my own model");
        var before = Snapshot(outDir);

        var (code, error) = Prepare(outDir, "--overwrite");

        Assert.AreEqual(ExitCodes.Usage, code, error);
        StringAssert.Contains(error, ArtifactNames.TrainingModel);
        AssertUnchanged(before, outDir);
        Assert.IsEmpty(StagingLeftovers(outDir));
    }

    [TestMethod]
    public void Prepare_WithAVocabularyLargerThanTheTokenTable_IsRefusedNamingIt()
    {
        string vocab = Vocab("too-many.txt", Enumerable.Range(0, TinyTransformer.Vocab).Select(i => $"w{i}").ToArray());
        string outDir = Path.Combine(_dir, "too-many");

        var (code, error) = Prepare(outDir, "--vocab", vocab);

        Assert.AreEqual(ExitCodes.BadInput, code, error);
        StringAssert.Contains(error, "too-many.txt");
        StringAssert.Contains(error, $"embeds {TinyTransformer.Vocab}");
        Assert.IsFalse(Directory.Exists(outDir));
    }

    [TestMethod]
    public void Prepare_FromAGraphThatAlreadyHasOurHead_IsRefusedNamingTheModel()
    {
        string first = Path.Combine(_dir, "first");
        Assert.AreEqual(ExitCodes.Ok, Prepare(first).Code);
        string ours = Path.Combine(first, ArtifactNames.EvalModel);

        var error = new StringWriter();
        int code = GraphCli.Run(["prepare", "--model", ours, "--method", "lora", "--rank", "2", "--targets", "query,value", "--out", Path.Combine(_dir, "second")],
            new StringWriter(), error);

        Assert.AreEqual(ExitCodes.BadInput, code, error.ToString());
        StringAssert.Contains(error.ToString(), $"{ours}: already has");
        StringAssert.Contains(error.ToString(), "original export");
        Assert.IsFalse(Directory.Exists(Path.Combine(_dir, "second")));
    }

    [TestMethod]
    public void Prepare_WithAFileThatIsNotAVocabulary_IsRefusedNamingTheMissingTokens()
    {
        string notVocab = Path.Combine(_dir, "train.jsonl");
        File.WriteAllLines(notVocab, ["{\"text\": \"hi\", \"label\": 0}", "{\"text\": \"yo\", \"label\": 1}"]);
        string outDir = Path.Combine(_dir, "not-vocab");

        var (code, error) = Prepare(outDir, "--vocab", notVocab);

        Assert.AreEqual(ExitCodes.BadInput, code, error);
        StringAssert.Contains(error, "train.jsonl: vocabulary lacks the special tokens [PAD], [UNK], [CLS], [SEP], [MASK]");
        Assert.IsFalse(Directory.Exists(outDir));
    }

    [TestMethod]
    [DataRow(new[] { "hello", "world", "the" }, null, true)]
    [DataRow(new[] { "Hello", "World", "The", "hello" }, null, false)]
    [DataRow(new[] { "Hello", "World", "The", "hello" }, "true", true)]
    [DataRow(new[] { "hello", "world", "the" }, "false", false)]
    public void Prepare_LowerCasing_FollowsTheVocabularyUnlessGiven(string[] tokens, string? given, bool expected)
    {
        string vocab = Vocab($"vocab-{Guid.NewGuid():N}.txt", tokens);
        string outDir = Path.Combine(_dir, $"case-{Guid.NewGuid():N}");

        var (code, error) = given == null ? Prepare(outDir, "--vocab", vocab) : Prepare(outDir, "--vocab", vocab, "--lowercase", given);

        Assert.AreEqual(ExitCodes.Ok, code, error);
        var tokenizer = ArtifactManifest.Load(Path.Combine(outDir, ArtifactNames.Manifest)).Tokenizer;
        Assert.AreEqual(expected, tokenizer.LowerCase);
        Assert.AreEqual(Hashing.Sha256File(vocab), tokenizer.VocabSha256, true);
    }

    [TestMethod]
    public void VocabularyFacts_CountOnlyTokensThatLowerCasingChanges()
    {
        Assert.IsFalse(VocabularyFacts.Read(RealModel.VocabPath).Cased, "all-MiniLM-L6-v2 is uncased ('ℝ' has no lower case)");
        string cased = Path.Combine(_dir, "cased-minilm.txt");
        File.WriteAllLines(cased, File.ReadLines(RealModel.VocabPath).Select((t, i) => i % 50 == 0 && t.All(char.IsLetter) ? char.ToUpperInvariant(t[0]) + t[1..] : t));
        Assert.IsTrue(VocabularyFacts.Read(cased).Cased);
    }

    [TestMethod]
    public void MaxLength_BeyondTheModelsPositions_IsRefusedWhenTheCommandStarts()
    {
        string outDir = Path.Combine(_dir, "too-long");
        var error = new StringWriter();

        int prepare = GraphCli.Run(["prepare", "--model", RealModel.ModelPath, "--targets", "query,value", "--max-length", "513", "--out", outDir],
            new StringWriter(), error);
        int train = RunnerCli.Run(["train", "--artifacts", PreparedArtifacts.Classify, "--train", PreparedArtifacts.SpamSample(4),
            "--out", Path.Combine(_dir, "too-long-run"), "--max-length", "600"], new StringWriter(), error);

        Assert.AreEqual((ExitCodes.Usage, ExitCodes.Usage), (prepare, train), error.ToString());
        StringAssert.Contains(error.ToString(), "--max-length 513 is beyond the 512 positions");
        StringAssert.Contains(error.ToString(), "--max-length 600 is beyond the 512 positions");
        Assert.IsFalse(Directory.Exists(outDir));
        Assert.IsFalse(Directory.Exists(Path.Combine(_dir, "too-long-run")));
    }
}
