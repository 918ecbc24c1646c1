using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Targeting;

/// <summary>Applies a <see cref="TargetSpec"/> to a model's linear modules.</summary>
public static class TargetSelector
{
    /// <summary>The modules <paramref name="spec"/> selects, in model order.</summary>
    /// <exception cref="TargetSelectionException">Nothing matched; the message lists the available paths.</exception>
    public static IReadOnlyList<LinearModule> Select(IReadOnlyList<LinearModule> modules, TargetSpec spec)
    {
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentNullException.ThrowIfNull(spec);
        var selected = modules.Where(m => spec.Matches(m.Path)).ToList();
        if (selected.Count == 0)
            throw new TargetSelectionException(
                $"targets '{spec}' match none of the model's {modules.Count} linear modules. Available module paths: " +
                string.Join(", ", modules.Select(m => m.Path)));
        return selected;
    }
}

/// <summary>A target specification that selects nothing.</summary>
public sealed class TargetSelectionException(string message) : BadInputException(message);
