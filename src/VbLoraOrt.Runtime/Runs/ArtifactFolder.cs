using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Text;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>A folder written by <c>vblora-graph prepare</c>: its manifest and the paths of its files.</summary>
public sealed class ArtifactFolder
{
    ArtifactFolder(string directory, ArtifactManifest manifest, IAdapterMethod method, AdapterPlan plan)
    {
        Directory = directory;
        Manifest = manifest;
        Method = method;
        Plan = plan;
    }

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>Its manifest.</summary>
    public ArtifactManifest Manifest { get; }

    /// <summary>The adapter method, configured as the manifest records it.</summary>
    public IAdapterMethod Method { get; }

    /// <summary>The method's plan for the manifest's targets (checked against the manifest's trainables).</summary>
    public AdapterPlan Plan { get; }

    /// <summary>Identity checkpoints of these artifacts carry.</summary>
    public string Identity => Manifest.Identity;

    /// <summary>Training graph path.</summary>
    public string TrainingModel => PathOf(ArtifactNames.TrainingModel);

    /// <summary>Head-only training graph path; null when the artifacts have none (prepared before it was emitted).</summary>
    public string? HeadOnlyTrainingModel => Manifest.HeadOnlyTrainingModel is { } file ? PathOf(file) : null;

    /// <summary>Eval graph path.</summary>
    public string EvalModel => PathOf(ArtifactNames.EvalModel);

    /// <summary>Optimizer graph path.</summary>
    public string OptimizerModel => PathOf(ArtifactNames.OptimizerModel);

    /// <summary>Initial checkpoint path.</summary>
    public string InitialCheckpoint => PathOf(ArtifactNames.InitialCheckpoint);

    /// <summary>Vocabulary path.</summary>
    public string Vocab => PathOf(Manifest.Tokenizer.VocabFile);

    /// <summary>Opens and checks a folder.</summary>
    /// <exception cref="BadInputException">No manifest, or a file it needs is missing, damaged or from other artifacts.</exception>
    public static ArtifactFolder Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!System.IO.Directory.Exists(directory))
            throw new BadInputException($"{directory}: artifact folder not found. Create it with `vblora-graph prepare … --out {directory}`.");
        string manifestPath = Path.Combine(directory, ArtifactNames.Manifest);
        var manifest = ArtifactManifest.Load(manifestPath);
        var (method, plan) = AdapterMethods.PlanOf(manifest, manifestPath);
        var folder = new ArtifactFolder(directory, manifest, method, plan);
        foreach (string file in new[] { folder.TrainingModel, folder.EvalModel, folder.OptimizerModel, folder.InitialCheckpoint, folder.HeadOnlyTrainingModel }.OfType<string>())
            if (!File.Exists(file))
                throw new BadInputException($"{file}: missing from the artifact folder; re-run `vblora-graph prepare`.");
        manifest.VerifyFiles(directory);
        return folder;
    }

    /// <summary>The tokenizer the manifest describes.</summary>
    public BertTextTokenizer LoadTokenizer()
    {
        if (!File.Exists(Vocab))
            throw new BadInputException($"{Vocab}: vocabulary missing; prepare the artifacts with --vocab.");
        return BertTextTokenizer.Load(Vocab, Manifest.Tokenizer.LowerCase);
    }

    /// <summary>Every file of the folder that commands read: the manifest and the files it records (or, for older manifests, the standard ones).</summary>
    public IEnumerable<string> Files =>
        new[] { ArtifactNames.Manifest, ArtifactNames.TrainingModel, ArtifactNames.EvalModel, ArtifactNames.OptimizerModel, ArtifactNames.InitialCheckpoint, Manifest.Tokenizer.VocabFile }
            .Concat(Manifest.Files?.Keys ?? Enumerable.Empty<string>()).Select(PathOf);

    string PathOf(string file) => Path.Combine(Directory, file);
}
