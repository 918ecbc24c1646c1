using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Text;

/// <summary>
/// What <c>prepare</c> reads from a WordPiece <c>vocab.txt</c> (one token per line, the line number is the id): how many
/// tokens it has, whether it is cased, and its hash. An uncased vocabulary (BERT's <c>-uncased</c> models,
/// all-MiniLM-L6-v2) has no token that lower-casing would change outside the bracketed special tokens (symbols such as
/// 'ℝ' are upper-case letters without a lower-case form and do not count); a cased one has thousands. More than 1 % of
/// such tokens counts as cased.
/// </summary>
public sealed record VocabularyFacts(int TokenCount, bool Cased, string Sha256)
{
    /// <summary>Reads the facts of <paramref name="path"/>.</summary>
    /// <exception cref="BadInputException">The file is missing, empty, or lacks a special token the runner needs.</exception>
    public static VocabularyFacts Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new BadInputException($"{path}: vocabulary not found (--vocab).");
        int count = 0, changedByLowerCasing = 0;
        var tokens = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(path))
        {
            count++;
            string token = line.TrimEnd('\r');
            tokens.Add(token);
            if (!(token.StartsWith('[') && token.EndsWith(']')) && token.Any(c => char.ToLowerInvariant(c) != c))
                changedByLowerCasing++;
        }
        bool cased = changedByLowerCasing * 100 > count;
        if (count == 0)
            throw new BadInputException($"{path}: vocabulary is empty (--vocab needs a WordPiece vocab.txt, one token per line).");
        var missing = WordPieceSpecialTokens.All.Where(t => !tokens.Contains(t)).ToList();
        if (missing.Count > 0)
            throw new BadInputException(WordPieceSpecialTokens.Lacking(path, missing));
        return new VocabularyFacts(count, cased, Hashing.Sha256File(path));
    }
}
