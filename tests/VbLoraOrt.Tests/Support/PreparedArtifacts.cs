using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Runner.Demo;

namespace VbLoraOrt.Tests.Support;

/// <summary>VB-LoRA artifacts of the real MiniLM (query,value; small bank), prepared once per task kind per test run.</summary>
public static class PreparedArtifacts
{
    static readonly Lazy<string> ClassifyFolder = new(() => Prepare(new TaskOptions { NumLabels = 2, Pooling = Pooling.Mean }));
    static readonly Lazy<string> EmbedFolder = new(() => Prepare(new TaskOptions { Kind = TaskKind.Embed }));

    public static string Classify => ClassifyFolder.Value;
    public static string Embed => EmbedFolder.Value;

    public static string NewFolder(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;

    static string Prepare(TaskOptions task)
    {
        string dir = NewFolder("vblora-artifacts");
        ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = RealModel.ModelPath,
            OutputDirectory = dir,
            Method = new VbLoraMethod(new VbLoraOptions { NumVectors = 64, VectorLength = 128, Rank = 4, TopK = 2 }),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = task,
            VocabPath = RealModel.VocabPath,
            MaxLength = 32,
        });
        return dir;
    }

    /// <summary>A small spam/ham file from the committed sample (first <paramref name="rows"/> rows).</summary>
    public static string SpamSample(int rows)
    {
        string source = VbLoraOrt.Runner.Demo.DemoData.TrainFile;
        string path = Path.Combine(NewFolder("vblora-data"), "spam.jsonl");
        File.WriteAllLines(path, File.ReadLines(source).Take(rows));
        return path;
    }
}
