using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Text;

/// <summary>
/// The limits an exported transformer's embedding tables put on its input (DESIGN.md §8): the rows of the token table
/// (a <c>Gather</c> of a 2-D initializer indexed by the token-id input) bound the vocabulary, the rows of the position
/// table (a 2-D initializer gathered under a name with <c>position</c> in it) bound the sequence length. Null where the
/// graph does not show a table.
/// </summary>
public sealed record EmbeddingLimits(int? VocabularyRows, int? Positions)
{
    /// <summary>The limits of <paramref name="model"/>, whose token ids arrive through <paramref name="tokenInput"/>.</summary>
    public static EmbeddingLimits Of(OnnxModel model, string tokenInput = "input_ids")
    {
        ArgumentNullException.ThrowIfNull(model);
        var tables = model.Graph.Initializer.Where(t => t.Dims.Count == 2).ToDictionary(t => t.Name, t => t, StringComparer.Ordinal);
        int? vocabulary = null, positions = null;
        foreach (var gather in model.Graph.Node.Where(n => n.OpType == "Gather" && n.Input.Count == 2 && tables.ContainsKey(n.Input[0])))
        {
            var table = tables[gather.Input[0]];
            int rows = checked((int)table.Dims[0]);
            if (gather.Input[1] == tokenInput)
                vocabulary = Math.Min(vocabulary ?? int.MaxValue, rows);
            else if (table.Name.Contains("position", StringComparison.OrdinalIgnoreCase))
                positions = Math.Min(positions ?? int.MaxValue, rows);
        }
        return new EmbeddingLimits(vocabulary, positions);
    }
}
