using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.AdapterFiles;

/// <summary>
/// An artifact folder prepared from all-MiniLM-L6-v2 (VB-LoRA on query and value, 3-label classifier) in a temp
/// folder, and "trained-looking" values for it. Dispose deletes the folder.
/// </summary>
public sealed class MiniLmArtifacts : IDisposable
{
    /// <summary>h = 64 (U8 indices), b = 128, r = 4, k = 2.</summary>
    public static readonly VbLoraOptions Options = new() { NumVectors = 64, VectorLength = 128, Rank = 4, TopK = 2 };

    public const int Labels = 3;

    public string Directory { get; }
    public ArtifactManifest Manifest { get; }

    MiniLmArtifacts(string directory, ArtifactManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
    }

    public static MiniLmArtifacts Prepare(TaskKind kind = TaskKind.Classify)
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("vblora-export-").FullName;
        var manifest = ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = RealModel.ModelPath,
            OutputDirectory = directory,
            Method = new VbLoraMethod(Options),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { Kind = kind, NumLabels = Labels },
        });
        return new MiniLmArtifacts(directory, manifest);
    }

    /// <summary>Values as after training: bank U(-0.1, 0.1), logits N(0, 1), head N(0, 0.5²) and bias N(0, 0.1²).</summary>
    public static Dictionary<string, float[]> TrainedLooking(ArtifactManifest manifest, long seed = 7) =>
        manifest.Trainables.ToDictionary(t => t.Name, t =>
        {
            var random = new SeededRandom(seed, t.Name);
            return t.Group switch
            {
                VbLoraNames.BankGroup => random.Uniform(t.ElementCount, -0.1, 0.1),
                VbLoraNames.LogitsGroup => random.Normal(t.ElementCount, 1.0),
                _ => random.Normal(t.ElementCount, t.Name == ArtifactNames.HeadBias ? 0.1 : 0.5),
            };
        });

    /// <summary>The eight sentences plus every trainable as an input of the eval model.</summary>
    public Dictionary<string, object> EvalInputs(IReadOnlyDictionary<string, float[]> values)
    {
        var inputs = RealModel.Batch(RealModel.EightSentences);
        foreach (var t in Manifest.Trainables)
            inputs[t.Name] = new DenseTensor<float>(values[t.Name], t.Shape.Select(d => (int)d).ToArray());
        return inputs;
    }

    /// <summary>A fresh path <paramref name="fileName"/> in its own folder inside the artifact folder (deleted with it).</summary>
    public string NewPath(string fileName) =>
        Path.Combine(System.IO.Directory.CreateDirectory(Path.Combine(Directory, $"out-{Guid.NewGuid():N}")).FullName, fileName);

    public string EvalModelPath => Path.Combine(Directory, ArtifactNames.EvalModel);

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
