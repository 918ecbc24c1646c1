using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Merge;

/// <summary>
/// The vocabulary beside a merged model, under a name that never takes over a file already there: <c>&lt;model
/// name&gt;.vocab.txt</c>, reused when it holds the same bytes, else <c>&lt;model name&gt;.vocab.&lt;hash&gt;.txt</c>.
/// </summary>
static class MergedVocabulary
{
    /// <summary>Copies <paramref name="source"/> beside <paramref name="modelPath"/>; returns the settings to record in the model.</summary>
    /// <exception cref="BadInputException">Both candidate names hold other files.</exception>
    public static TokenizerInfo Place(string source, TokenizerInfo settings, string modelPath)
    {
        string sha = Hashing.Sha256File(source);
        string folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        string stem = Path.GetFileNameWithoutExtension(modelPath);
        foreach (string name in new[] { $"{stem}.vocab.txt", $"{stem}.vocab.{sha[..12]}.txt" })
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path) && Hashing.Sha256File(path) != sha)
                continue;
            if (!File.Exists(path))
                AtomicFile.WriteAllBytes(path, File.ReadAllBytes(source));
            return settings with { VocabFile = name, VocabSha256 = sha };
        }
        throw new BadInputException($"{folder}: files {stem}.vocab.txt and {stem}.vocab.{sha[..12]}.txt exist with other contents; export the merged model to another folder.");
    }
}
