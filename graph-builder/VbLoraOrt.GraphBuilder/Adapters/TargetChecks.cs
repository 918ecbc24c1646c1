using VbLoraOrt.GraphBuilder.Discovery;

namespace VbLoraOrt.GraphBuilder.Adapters;

/// <summary>Target-list checks every method makes in <see cref="IAdapterMethod.Plan"/>.</summary>
internal static class TargetChecks
{
    /// <summary>At least one target, no null, each module path and node at most once.</summary>
    public static void RequireDistinct(string method, IReadOnlyList<LinearModule> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0)
            throw new AdapterException($"{method}: no target modules were given; select at least one linear layer to adapt.");
        if (targets.Any(t => t is null))
            throw new ArgumentException("the target list contains null", nameof(targets));
        foreach (var group in targets.GroupBy(t => t.Path, StringComparer.Ordinal).Where(g => g.Count() > 1))
            throw new AdapterException($"{method}: module '{group.Key}' is targeted {group.Count()} times; list each module once.");
        foreach (var group in targets.GroupBy(t => t.NodeName, StringComparer.Ordinal).Where(g => g.Count() > 1))
            throw new AdapterException($"{method}: node '{group.Key}' is targeted twice (as {string.Join(" and ", group.Select(t => t.Path))}).");
    }
}
