using Onnx;

namespace VbLoraOrt.Differentiation.Composites;

/// <summary>
/// Replaces, in the list of path nodes to differentiate, known multi-node subgraphs by one composite node whose
/// gradient rule is cheaper than the chain of its parts' rules. The forward graph is not changed; only the
/// backward pass sees the composites.
/// </summary>
internal static class CompositePatterns
{
    /// <summary>Domain of composite nodes; they never enter a graph.</summary>
    public const string Domain = "vblora.composite";

    static readonly Func<NodeProto, PatternView, CompositeMatch>[] Patterns = [GeluErfPattern.Match, LayerNormPattern.Match, AdaptedWeightPattern.Match];

    /// <summary>The path nodes with every match replaced by its composite (placed where its anchor was).</summary>
    public static List<NodeProto> Collapse(IReadOnlyList<NodeProto> pathNodes, PatternView view)
    {
        var covered = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var replacement = new Dictionary<NodeProto, NodeProto>(ReferenceEqualityComparer.Instance);
        for (int n = pathNodes.Count - 1; n >= 0; n--)
        {
            var anchor = pathNodes[n];
            if (covered.Contains(anchor) || anchor.Domain is not ("" or "ai.onnx"))
                continue;
            foreach (var pattern in Patterns)
            {
                var match = pattern(anchor, view);
                if (!match.Succeeded || match.Covered.Any(covered.Contains))
                    continue;
                covered.UnionWith(match.Covered);
                replacement[anchor] = match.Composite!;
                break;
            }
        }
        return pathNodes.Where(node => replacement.ContainsKey(node) || !covered.Contains(node))
            .Select(node => replacement.GetValueOrDefault(node) ?? node).ToList();
    }
}
