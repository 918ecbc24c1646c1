using System.Diagnostics;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Methods.UniLora;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Text;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// Every file format the product reads, mutated (truncated, bytes flipped, chunks spliced) with a seeded generator and
/// read back the way the product reads it: each case must end in a valid result or a <see cref="BadInputException"/>
/// (or a documented subtype) — never another exception, a hang, or a crash.
/// </summary>
[TestClass]
public sealed class FileFuzzTests
{
    const int CasesPerFormat = 300;
    static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(10);

    public TestContext TestContext { get; set; } = null!;

    /// <summary>A format: a valid file, where a mutated copy goes, and how the product reads and uses it.</summary>
    sealed record Format(string Name, byte[] Valid, string FileName, Action<string> Read, Func<string, string>? Folder = null);

    [TestMethod]
    public void Readers_OnMutatedFiles_ReturnValidResultOrBadInputError()
    {
        var clock = Stopwatch.StartNew();
        var formats = new[]
        {
            OnnxModelFormat(), CheckpointFormat(), AdapterFormat(), OtherMethodAdapterFormat(new LoraMethod(new LoraOptions { Rank = 1 })),
            OtherMethodAdapterFormat(new UniLoraMethod(new UniLoraOptions { ThetaLength = 512, Rank = 1 })),
            ManifestFormat(), JsonLinesFormat(), CsvFormat(), VocabFormat(),
        };
        foreach (var format in formats)
            format.Read(Place(format, format.Valid)); // the unmutated file reads

        var tally = new SortedDictionary<(string Format, string Outcome), int>();
        var failures = new List<string>();
        int cases = 0;
        foreach (var (format, index) in formats.Select((f, i) => (f, i)))
        {
            var mutator = new FileMutator(seed: 1000 + index);
            for (int i = 0; i < CasesPerFormat; i++, cases++)
            {
                var (bytes, kind) = mutator.Mutate(format.Valid);
                string outcome = Outcome(format, Place(format, bytes), out string? failure);
                tally[(format.Name, outcome)] = tally.GetValueOrDefault((format.Name, outcome)) + 1;
                if (failure != null)
                    failures.Add($"{format.Name} case {i} ({kind}, {bytes.Length} bytes): {failure}");
            }
        }

        foreach (var ((name, outcome), count) in tally)
            TestContext.WriteLine($"{name,-10} {outcome,-28} {count,4}");
        TestContext.WriteLine($"{cases} cases in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.IsGreaterThanOrEqualTo(1000, cases);
        Assert.IsEmpty(failures, string.Join("\n", failures.Take(10)));
    }

    // "valid", the BadInputException type, or "FAILED: type" with the failure described.
    static string Outcome(Format format, string path, out string? failure)
    {
        failure = null;
        var read = Task.Run(() => format.Read(path));
        try
        {
            if (!read.Wait(CaseTimeout))
            {
                failure = $"no result within {CaseTimeout.TotalSeconds} s";
                return "FAILED: hang";
            }
            return "valid";
        }
        catch (AggregateException e) when (e.InnerException is BadInputException bad)
        {
            if (!bad.Message.Contains(Path.GetFileName(path), StringComparison.Ordinal))
                failure = $"{bad.GetType().Name} does not name the file: {bad.Message}";
            return bad.GetType().Name;
        }
        catch (AggregateException e)
        {
            failure = e.InnerException!.ToString();
            return $"FAILED: {e.InnerException!.GetType().Name}";
        }
    }

    static string Place(Format format, byte[] bytes)
    {
        string dir = format.Folder?.Invoke(format.Name) ?? PreparedArtifacts.NewFolder($"vblora-fuzz-{format.Name}");
        string path = Path.Combine(dir, format.FileName);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // A two-layer MLP with its weights in an external data file beside it; reading loads it and every tensor.
    static Format OnnxModelFormat()
    {
        string source = PreparedArtifacts.NewFolder("vblora-fuzz-onnx-src");
        TinyModels.TwoLayerMlp().Save(Path.Combine(source, "model.onnx"), new ExternalDataOptions { FileName = "weights.bin", ThresholdBytes = 64 });
        byte[] weights = File.ReadAllBytes(Path.Combine(source, "weights.bin"));
        return new Format("onnx", File.ReadAllBytes(Path.Combine(source, "model.onnx")), "model.onnx", path =>
        {
            var model = OnnxModel.Load(path);
            _ = model.Opset;
            foreach (var tensor in model.Graph.Initializer)
                model.Tensors.ReadBytes(tensor);
        }, Folder: name =>
        {
            string dir = PreparedArtifacts.NewFolder($"vblora-fuzz-{name}");
            File.WriteAllBytes(Path.Combine(dir, "weights.bin"), weights);
            return dir;
        });
    }

    static Format CheckpointFormat()
    {
        string path = Path.Combine(PreparedArtifacts.NewFolder("vblora-fuzz-ckpt-src"), "small.ckpt");
        new Checkpoint("artifacts-id", 7, new DataLoaderPosition(1, 3, 42),
        [
            new NamedTensor("bank", [4, 8], TinyModels.Random(32, 1)),
            new NamedTensor("bank.m", [4, 8], TinyModels.Random(32, 2)),
            new NamedTensor("bias", [], [0.5f]),
        ]).Save(path);
        return new Format("checkpoint", File.ReadAllBytes(path), "state.ckpt", p => Checkpoint.Load(p, expectedArtifactsId: null));
    }

    // The adapter of the small MiniLM artifacts with their initial values.
    static Format AdapterFormat()
    {
        var folder = ArtifactFolder.Open(PreparedArtifacts.Classify);
        var values = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity).Tensors.ToDictionary(t => t.Name, t => t.Values);
        string path = Path.Combine(PreparedArtifacts.NewFolder("vblora-fuzz-adapter-src"), "adapter.safetensors");
        AdapterFile.Save(path, folder.Manifest, values);
        return new Format("adapter", File.ReadAllBytes(path), "adapter.safetensors", p => AdapterFile.Load(p));
    }

    // An adapter of another method (its stored form differs): MiniLM artifacts prepared with it, initial values.
    static Format OtherMethodAdapterFormat(IAdapterMethod method)
    {
        var manifest = ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = RealModel.ModelPath,
            OutputDirectory = PreparedArtifacts.NewFolder($"vblora-fuzz-{method.Name}"),
            Method = method,
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 2 },
        });
        var values = manifest.Trainables.ToDictionary(t => t.Name, t => new SeededRandom(5, t.Name).Normal(t.ElementCount, 0.1));
        string path = Path.Combine(PreparedArtifacts.NewFolder($"vblora-fuzz-{method.Name}-src"), "adapter.safetensors");
        AdapterFile.Save(path, manifest, values);
        return new Format($"{method.Name} file", File.ReadAllBytes(path), "adapter.safetensors", p => AdapterFile.Load(p));
    }

    // The manifest in a folder whose other files exist (as placeholders: the fuzzed manifest carries no file hashes,
    // whose check DamagedArtifactsTests covers); reading opens the folder and uses what the runner and export use.
    static Format ManifestFormat()
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(PreparedArtifacts.Classify, ArtifactNames.Manifest)))!.AsObject();
        Assert.IsTrue(json.Remove("files"));
        return new Format("manifest", System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), ArtifactNames.Manifest, path =>
        {
            var folder = ArtifactFolder.Open(Path.GetDirectoryName(path)!);
            var manifest = folder.Manifest;
            _ = (folder.Identity, folder.Vocab, manifest.Tokenizer.MaxLength, manifest.Task.Kind, manifest.DataInputs.Count, manifest.LabelInputs.Count);
            foreach (var t in manifest.Trainables)
                _ = (t.Name.Length, t.Group.Length, t.ElementCount);
            AdapterMethods.Create(manifest.Method, manifest.MethodOptions).Plan(manifest.Targets);
        }, Folder: name =>
        {
            string dir = PreparedArtifacts.NewFolder($"vblora-fuzz-{name}");
            foreach (string file in new[] { ArtifactNames.TrainingModel, ArtifactNames.HeadOnlyTrainingModel, ArtifactNames.EvalModel, ArtifactNames.OptimizerModel, ArtifactNames.InitialCheckpoint })
                File.WriteAllBytes(Path.Combine(dir, file), []);
            return dir;
        });
    }

    static Format JsonLinesFormat() => new("jsonl", File.ReadAllBytes(PreparedArtifacts.SpamSample(12)), "train.jsonl",
        path => DataFileReader.ReadText(path, LabelKind.Class));

    static Format CsvFormat() => new("csv", System.Text.Encoding.UTF8.GetBytes(
        "text,label\n\"Win a \"\"free\"\" prize, now\",spam\nsee you at lunch,ham\n\"multi\nline\",ham\nplain text,spam\n"), "train.csv",
        path => DataFileReader.ReadText(path, LabelKind.Class));

    static Format VocabFormat() => new("vocab", System.Text.Encoding.UTF8.GetBytes(
        string.Join('\n', "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", "free", "prize", ".", ",") + "\n"), "vocab.txt",
        path => BertTextTokenizer.Load(path).Encode("The cats sat on the mat, free prize.", "a pair", maxLength: 16));
}
