using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Text;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>
/// A merged model with what it records about its use (DESIGN.md §8): the task and class names, and the tokenizer it was
/// trained with (vocabulary file beside it and its hash, lower-casing, maximum length). Models exported before the
/// tokenizer was recorded fall back to <c>vocab.txt</c> beside them, lower-cased, 128 tokens.
/// </summary>
public sealed record MergedModel(string Path, TaskInfo Task, TokenizerInfo Tokenizer, BertTextTokenizer TextTokenizer)
{
    /// <summary>What models exported before the tokenizer settings were recorded were always used with.</summary>
    public static TokenizerInfo LegacyTokenizer { get; } = new("vocab.txt", LowerCase: true, MaxLength: 128);

    /// <summary>Opens <paramref name="modelPath"/>; <paramref name="vocabPath"/> replaces the recorded vocabulary (checked by hash).</summary>
    /// <exception cref="BadInputException">Not a merged model of ours, its vocabulary is missing, or the given one is not the one it was trained with.</exception>
    public static MergedModel Open(string modelPath, string? vocabPath)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        var model = OnnxModel.Load(modelPath);
        var task = MergedModelExporter.ReadTask(model)
            ?? throw new BadInputException($"{modelPath}: not a merged model written by `vblora-run export --merged` (no task metadata).");
        var tokenizer = MergedModelExporter.ReadTokenizer(model) ?? LegacyTokenizer;
        string vocab = vocabPath ?? System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(modelPath))!, tokenizer.VocabFile);
        if (!File.Exists(vocab))
            throw new BadInputException(vocabPath == null
                ? $"{vocab}: vocabulary of {System.IO.Path.GetFileName(modelPath)} not found (it is exported beside the model); copy it back or pass --vocab."
                : $"{vocab}: vocabulary not found (--vocab).");
        if (tokenizer.VocabSha256 is string sha && !string.Equals(Hashing.Sha256File(vocab), sha, StringComparison.OrdinalIgnoreCase))
            throw new BadInputException(
                $"{vocab}: is not the vocabulary {System.IO.Path.GetFileName(modelPath)} was trained with (SHA-256 differs from the one it records); " +
                (vocabPath == null ? "export the model again." : $"leave --vocab out to use {tokenizer.VocabFile} beside the model."));
        return new MergedModel(modelPath, task, tokenizer, BertTextTokenizer.Load(vocab, tokenizer.LowerCase));
    }
}
