using System.CommandLine;
using System.Globalization;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Cli;

/// <summary>
/// Learning rates per parameter group, one form for every group of every method: <c>--lr GROUP=VALUE</c> (repeatable),
/// and <c>--lr-GROUP VALUE</c> for each group a registered method declares (generated from the registry, so no
/// method is named here). Groups not given keep their method's default (<see cref="ParameterGroup.DefaultLearningRate"/>).
/// </summary>
public sealed class LearningRateOptions
{
    readonly Dictionary<string, Option<float?>> _aliases = new(StringComparer.Ordinal);

    /// <summary>Creates <c>--lr</c> and one <c>--lr-GROUP</c> per registered group.</summary>
    public LearningRateOptions()
    {
        Rates = new Option<string[]>("--lr")
        {
            Description = "Learning rate of a parameter group, GROUP=VALUE (repeatable). Groups: "
                + string.Join(", ", AdapterMethods.Groups.Select(g => $"{g.Name} ({g.Description}; default {Format(g.DefaultLearningRate)})")) + ".",
        };
        foreach (var group in AdapterMethods.Groups)
            _aliases[group.Name] = new Option<float?>("--lr-" + group.Name)
            {
                Description = $"Learning rate of {group.Description} (same as --lr {group.Name}=VALUE; default {Format(group.DefaultLearningRate)}).",
            };
    }

    /// <summary><c>--lr GROUP=VALUE</c>.</summary>
    public Option<string[]> Rates { get; }

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Rates);
        foreach (var alias in _aliases.Values)
            command.Options.Add(alias);
    }

    /// <summary>The rates the user gave, by group (defaults are applied later, against the artifacts' groups).</summary>
    /// <exception cref="UsageException">A malformed <c>--lr</c>, or one group given twice.</exception>
    public Dictionary<string, float> Read(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var rates = new Dictionary<string, float>(StringComparer.Ordinal);
        void Add(string group, float rate, string how)
        {
            if (!rates.TryAdd(group, rate))
                throw new UsageException($"the learning rate of group '{group}' is given twice (last as {how}).");
        }
        foreach (string item in result.GetValue(Rates) ?? [])
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !float.TryParse(item.AsSpan(eq + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out float rate))
                throw new UsageException($"--lr takes GROUP=VALUE (e.g. --lr {AdapterMethods.Groups[0].Name}=1e-3), not '{item}'.");
            Add(item[..eq], rate, $"--lr {item}");
        }
        foreach (var (group, option) in _aliases)
            if (result.GetValue(option) is float rate)
                Add(group, rate, option.Name);
        return rates;
    }

    static string Format(float rate) => rate.ToString("G3", CultureInfo.InvariantCulture);
}
