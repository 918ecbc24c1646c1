using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runner.Demo;

/// <summary>
/// The demo's output folder. A re-run replaces the demo's own earlier output (artifacts, runs, exports), so the folder
/// is marked when the demo creates it; a folder that exists, holds anything, and lacks the mark is someone else's and is
/// refused — the demo never replaces files it did not write.
/// </summary>
public static class DemoOutput
{
    /// <summary>The mark the demo leaves in its output folder.</summary>
    public const string Marker = ".vblora-demo";

    /// <summary>The prepared artifacts.</summary>
    public const string Artifacts = "artifacts";

    /// <summary>The adapter's training run.</summary>
    public const string Run = "run";

    /// <summary>The head-only baseline's run.</summary>
    public const string Baseline = "baseline";

    /// <summary>The merged model's folder.</summary>
    public const string Merged = "merged";

    /// <summary>The exported adapter file.</summary>
    public const string Adapter = "spam-adapter.safetensors";

    /// <summary><c>demo --compare</c>: one folder per method.</summary>
    public const string Compare = "compare";

    /// <summary><c>demo --compare</c>: the markdown table.</summary>
    public const string ComparisonTable = "comparison.md";

    // What the demo writes: a folder holding only these (from a demo run before the mark existed) is the demo's too.
    static readonly HashSet<string> DemoEntries = [Artifacts, Run, Baseline, Merged, Adapter, Compare, ComparisonTable];

    /// <summary>Creates or reuses <paramref name="directory"/> for the demo.</summary>
    /// <exception cref="UsageException">The folder holds files the demo did not write.</exception>
    public static void Claim(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string marker = Path.Combine(directory, Marker);
        if (Directory.Exists(directory) && !File.Exists(marker)
            && Directory.EnumerateFileSystemEntries(directory).Any(e => !DemoEntries.Contains(Path.GetFileName(e))))
            throw new UsageException(
                $"{directory} already holds files that `vblora-run demo` did not write; choose another --out (the demo replaces only its own earlier output).");
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllText(marker, "Output of `vblora-run demo`; a re-run replaces it.\n");
    }
}
