using System.CommandLine;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Cli;

/// <summary>
/// <c>--method NAME</c> and every registered method's options, bound to the command line from the descriptors
/// (<see cref="AdapterMethods.All"/>): one option per distinct name (methods that share <c>--rank</c> share the option,
/// each with its own default). An option given for a method that does not take it is refused, naming the method's
/// options; so every option given takes effect.
/// </summary>
public sealed class MethodOptionSet
{
    readonly Dictionary<string, (Option Option, Func<ParseResult, object?> Read)> _options = new(StringComparer.Ordinal);

    /// <summary>Creates <c>--method</c> and the methods' options.</summary>
    public MethodOptionSet()
    {
        Method = new Option<string>("--method")
        {
            Description = "Adapter method: " + string.Join("; ", AdapterMethods.All.Select(d => $"{d.Name} ({d.DisplayName}: {d.Summary})")) + ".",
            DefaultValueFactory = _ => AdapterMethods.Default.Name,
        };
        Method.AcceptOnlyFromAmong([.. AdapterMethods.Names]);
        foreach (var group in AdapterMethods.All.SelectMany(d => d.Options.Select(o => (Descriptor: d, Option: o))).GroupBy(x => x.Option.Name))
            _options[group.Key] = Create(group.Key, group.ToList());
    }

    /// <summary><c>--method</c>.</summary>
    public Option<string> Method { get; }

    /// <summary>Adds <c>--method</c> and the methods' options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Method);
        foreach (var (option, _) in _options.Values)
            command.Options.Add(option);
    }

    /// <summary>The chosen method's descriptor.</summary>
    public AdapterMethodDescriptor Descriptor(ParseResult result) => AdapterMethods.Find(result.GetValue(Method)!);

    /// <summary>The chosen method, configured from the command line (defaults where an option was not given).</summary>
    /// <exception cref="UsageException">An option was given that the method does not take, or is out of range.</exception>
    public IAdapterMethod Create(ParseResult result, long seed)
    {
        ArgumentNullException.ThrowIfNull(result);
        var descriptor = Descriptor(result);
        var given = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, (option, read)) in _options)
            if (result.GetResult(option) is { Implicit: false } && read(result) is { } value)
                given[name] = value;
        return descriptor.Create(MethodOptionValues.For(descriptor, given), seed);
    }

    static (Option, Func<ParseResult, object?>) Create(string name, IReadOnlyList<(AdapterMethodDescriptor Descriptor, MethodOption Option)> uses)
    {
        string defaults = string.Join(", ", uses.Select(u => $"{u.Descriptor.Name} {u.Option.DefaultText}"));
        string description = $"{uses[0].Option.Description} Method{(uses.Count > 1 ? "s" : "")} {string.Join(", ", uses.Select(u => u.Descriptor.Name))} (default: {defaults}).";
        Type type = uses[0].Option.ValueType;
        if (uses.Any(u => u.Option.ValueType != type))
            throw new InvalidOperationException($"methods declare option '{name}' with different types.");
        return type == typeof(int) ? Typed<int>(name, description)
            : type == typeof(long) ? Typed<long>(name, description)
            : type == typeof(double) ? Typed<double>(name, description)
            : type == typeof(string) ? FileOption(name, description)
            : throw new InvalidOperationException($"option '{name}' has unsupported type {type.Name}.");
    }

    static (Option, Func<ParseResult, object?>) FileOption(string name, string description)
    {
        var option = new Option<string?>("--" + name) { Description = description };
        return (option, r => r.GetValue(option));
    }

    static (Option, Func<ParseResult, object?>) Typed<T>(string name, string description) where T : struct
    {
        var option = new Option<T?>("--" + name) { Description = description };
        return (option, r => r.GetValue(option));
    }
}
