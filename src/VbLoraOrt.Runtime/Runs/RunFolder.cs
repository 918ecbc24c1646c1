using System.Text.Json;
using System.Text.Json.Serialization;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Contracts.Runs;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>The files of one training run: options, latest checkpoint, metrics, loss curve.</summary>
public sealed class RunFolder(string directory)
{
    /// <summary>The folder.</summary>
    public string Directory { get; } = directory;

    /// <summary>The options the run started with (<c>run.json</c>).</summary>
    public string OptionsPath => Path.Combine(Directory, RunLayout.Options);

    /// <summary>The latest complete checkpoint.</summary>
    public string CheckpointPath => Path.Combine(Directory, RunLayout.Checkpoint);

    /// <summary>One JSON object per logged step and per evaluation.</summary>
    public string MetricsPath => Path.Combine(Directory, RunLayout.Metrics);

    /// <summary>Class names of the training data in id order (<c>labels.json</c>), when it named its classes.</summary>
    public string LabelsPath => Path.Combine(Directory, RunLayout.Labels);

    /// <summary>The loss curve.</summary>
    public string PlotPath => Path.Combine(Directory, RunLayout.Plot);

    const long MaxOptionsBytes = 1 << 20;

    internal static JsonSerializerOptions Json { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>
    /// Makes the folder ready for a new run: refuses one that already holds a run's files unless
    /// <paramref name="overwrite"/>, in which case only those files (<see cref="RunLayout.All"/>) are deleted; other
    /// files in the folder are never touched.
    /// </summary>
    /// <exception cref="UsageException">The folder holds a run and <paramref name="overwrite"/> is false.</exception>
    public void ClaimForNewRun(bool overwrite)
    {
        RequireClaimable(overwrite);
        foreach (string file in RunFiles())
            File.Delete(file);
    }

    /// <summary>Refuses, without changing anything, what <see cref="ClaimForNewRun"/> would refuse.</summary>
    /// <exception cref="UsageException">The folder holds a run and <paramref name="overwrite"/> is false, or --out is a file.</exception>
    public void RequireClaimable(bool overwrite)
    {
        if (File.Exists(Directory))
            throw new UsageException($"{Directory}: is a file; --out names the run folder to create.");
        var existing = RunFiles();
        if (existing.Count > 0 && !overwrite)
            throw new UsageException(
                $"{Directory} already holds a run ({string.Join(", ", existing.Select(Path.GetFileName))}); continue it with `vblora-run train --resume {Directory}`, " +
                "choose another --out, or pass --overwrite to replace it.");
        if (existing.Count == 0 && System.IO.Directory.Exists(Directory))
        {
            var others = System.IO.Directory.EnumerateFileSystemEntries(Directory).Select(e => Path.GetFileName(e)!)
                .Where(name => !IsInterruptedWrite(name)).Order(StringComparer.Ordinal).Take(3).ToList();
            if (others.Count > 0)
                throw new UsageException(
                    $"{Directory} holds files that are not a run ({string.Join(", ", others)}{(others.Count == 3 ? ", …" : "")}); a run is written " +
                    "into a new or empty folder: choose another --out.");
        }
    }

    List<string> RunFiles() => RunLayout.All.Select(f => Path.Combine(Directory, f)).Where(File.Exists).ToList();

    /// <summary>
    /// Deletes the folder this process created for a run that failed before saving any state: only when it holds
    /// nothing but run files (anything else in it is left, and then so is the folder).
    /// </summary>
    internal void DeleteCreatedFolder()
    {
        if (!System.IO.Directory.Exists(Directory))
            return;
        foreach (string file in RunFiles())
            File.Delete(file);
        DeleteInterruptedWrites();
        if (!System.IO.Directory.EnumerateFileSystemEntries(Directory).Any())
            System.IO.Directory.Delete(Directory);
    }

    /// <summary>Writes <c>run.json</c> atomically.</summary>
    public void SaveOptions(TrainOptions options)
    {
        System.IO.Directory.CreateDirectory(Directory);
        AtomicFile.WriteAllText(OptionsPath, JsonSerializer.Serialize(options, Json));
    }

    /// <summary>Writes the class names atomically (nothing when there are none).</summary>
    public void SaveClassNames(IReadOnlyList<string>? names)
    {
        if (names != null)
            AtomicFile.WriteAllText(LabelsPath, JsonSerializer.Serialize(names, Json));
    }

    /// <summary>The class names, or null when the run has none.</summary>
    public IReadOnlyList<string>? LoadClassNames() =>
        File.Exists(LabelsPath) ? JsonSerializer.Deserialize<List<string>>(File.ReadAllText(LabelsPath), Json) : null;

    /// <summary>
    /// Deletes temporary files a killed process left beside the checkpoint and the other atomically written files
    /// (<c>&lt;file&gt;.&lt;pid&gt;.&lt;guid&gt;.tmp</c>, see <see cref="AtomicFile"/>); the files themselves are complete.
    /// </summary>
    public void DeleteInterruptedWrites()
    {
        foreach (string file in RunLayout.All)
            foreach (string temp in System.IO.Directory.EnumerateFiles(Directory, file + ".*.tmp"))
                File.Delete(temp);
    }

    // A run file's temporary copy left by a write that was interrupted (AtomicFile names it `<file>.<random>.tmp`).
    static bool IsInterruptedWrite(string name) =>
        name.EndsWith(".tmp", StringComparison.Ordinal) && RunLayout.All.Any(f => name.StartsWith(f + ".", StringComparison.Ordinal));

    /// <summary>Reads <c>run.json</c>.</summary>
    /// <exception cref="BadInputException">Missing or unreadable.</exception>
    public TrainOptions LoadOptions()
    {
        if (!File.Exists(OptionsPath))
            throw new BadInputException($"{Directory}: not a resumable run (needs run.json, written by `vblora-run train --out {Directory}`).");
        if (new FileInfo(OptionsPath).Length > MaxOptionsBytes)
            throw new BadInputException($"{OptionsPath}: run options larger than {MaxOptionsBytes} bytes; this is not a run.json written by vblora-run.");
        TrainOptions options;
        try
        {
            options = JsonSerializer.Deserialize<TrainOptions>(File.ReadAllText(OptionsPath), Json)
                ?? throw new BadInputException($"{OptionsPath}: empty run options.");
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{OptionsPath}: unreadable run options ({e.Message}).", e);
        }
        // JSON can say null where C# says required, and an edited file can hold values the command line refuses.
        if (options.Artifacts is null || options.TrainFile is null || options.Out is null || options.LearningRates is null)
            throw new BadInputException($"{OptionsPath}: run options lack artifacts, trainFile, out or learningRates; the file was edited or damaged.");
        if (options.MaxSteps == 0)
            options = options with { MaxSteps = null }; // run.json written before 0 was refused: 0 meant "run the epochs"
        try
        {
            options.Validate();
        }
        catch (UsageException e)
        {
            throw new BadInputException($"{OptionsPath}: invalid run options ({e.Message}).", e);
        }
        return options;
    }
}
