using System.Text.Json;
using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Methods.UniLora;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Methods.Vera;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Registry;

/// <summary>
/// The one list of adapter methods. Everything else (the command line, prepare, train, export, the demo, the contract
/// test) enumerates it; registering a method is one line here plus its folder under <c>Methods/</c>.
/// </summary>
public static class AdapterMethods
{
    /// <summary>Every method this build knows, the default first.</summary>
    public static IReadOnlyList<AdapterMethodDescriptor> All { get; } =
    [
        VbLoraDescriptor.Instance,
        UniLoraDescriptor.Instance,
        LoraDescriptor.Instance,
        VeraDescriptor.Instance,
    ];

    /// <summary>PEFT's <c>adapter_config.json</c> layouts this build reads and writes: every registered method's.</summary>
    public static IReadOnlyList<PeftLayout> PeftLayouts { get; } = [VbLoraPeft.Layout, UniLoraPeft.Layout, LoraPeft.Layout, VeraPeft.Layout];

    /// <summary>How each registered method reads and writes PEFT directories, in the registry's order.</summary>
    public static IReadOnlyList<IPeftForm> PeftForms { get; } = [new VbLoraPeftForm(), new UniLoraPeftForm(), new LoraPeftForm(), new VeraPeftForm()];

    /// <summary>The PEFT form of method <paramref name="method"/>.</summary>
    /// <exception cref="InvalidOperationException">The method has no PEFT form (a build error the tests catch).</exception>
    public static IPeftForm PeftFormOf(string method) =>
        PeftForms.FirstOrDefault(f => f.Method == method) ?? throw new InvalidOperationException($"method '{method}' has no PEFT form");

    /// <summary>The form of <paramref name="peftType"/>, or null when no registered method has it.</summary>
    public static IPeftForm? PeftFormFor(string peftType) => PeftForms.FirstOrDefault(f => f.PeftType == peftType && Names.Contains(f.Method));

    /// <summary>The method <c>prepare</c> and the demo use when none is named.</summary>
    public static AdapterMethodDescriptor Default => All[0];

    /// <summary>The task head's parameter group, present in every classify artifact folder.</summary>
    public static ParameterGroup HeadGroup { get; } = new(ParameterGroups.Head, 4e-3f, "the task head (classifier weight and bias)");

    /// <summary>Method names this build knows.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(d => d.Name).ToArray();

    /// <summary>Every parameter group a method of this build (or the head) declares, by name.</summary>
    public static IReadOnlyList<ParameterGroup> Groups { get; } =
        All.SelectMany(d => d.Groups).Append(HeadGroup).DistinctBy(g => g.Name).ToArray();

    /// <summary>The descriptor named <paramref name="name"/>.</summary>
    /// <exception cref="BadInputException">No method has that name.</exception>
    public static AdapterMethodDescriptor Find(string name) =>
        All.FirstOrDefault(d => d.Name == name)
        ?? throw new BadInputException($"adapter method '{name}' is not known to this build (known: {string.Join(", ", Names)}).");

    /// <summary>Recreates a method from its name and <see cref="IAdapterMethod.SaveOptions"/> output.</summary>
    /// <exception cref="BadInputException">Unknown method, or options that are unreadable or out of range.</exception>
    public static IAdapterMethod Create(string name, JsonElement options)
    {
        var descriptor = Find(name);
        try
        {
            return descriptor.Load(options);
        }
        catch (JsonException e)
        {
            throw new BadInputException($"options of adapter method '{name}' are unreadable: {e.Message}", e);
        }
        catch (UsageException e)
        {
            throw new BadInputException($"options of adapter method '{name}' are invalid: {e.Message}", e);
        }
    }

    /// <summary>The default learning rate of <paramref name="group"/>, or null when no method of this build declares it.</summary>
    public static float? DefaultLearningRate(string group) => Groups.FirstOrDefault(g => g.Name == group)?.DefaultLearningRate;

    /// <summary>
    /// The method and plan a manifest describes, checked: the manifest's adapter trainables must be exactly what its
    /// method, as configured, plans for its targets (same names, shapes and order).
    /// </summary>
    /// <param name="manifest">A manifest read with <see cref="ArtifactManifest.Load"/>.</param>
    /// <param name="path">The manifest's file (or a description of it), named in errors.</param>
    /// <exception cref="BadInputException">The method is unknown, its options are invalid, or it plans other tensors.</exception>
    public static (IAdapterMethod Method, AdapterPlan Plan) PlanOf(ArtifactManifest manifest, string path)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        IAdapterMethod method;
        AdapterPlan plan;
        try
        {
            method = Create(manifest.Method, manifest.MethodOptions);
            plan = method.Plan(manifest.Targets);
        }
        catch (Exception e) when (e is BadInputException or ArgumentException)
        {
            throw new BadInputException($"{path}: manifest does not describe an adapter: {e.Message.TrimEnd('.')}. Re-run `vblora-graph prepare`.", e);
        }
        static string Describe(TrainableTensor t) => $"{t.Name}[{string.Join(",", t.Shape)}]";
        var listed = manifest.Trainables.Where(t => t.Group != ParameterGroups.Head).Select(Describe);
        if (!plan.Parameters.Select(Describe).SequenceEqual(listed, StringComparer.Ordinal))
            throw new BadInputException(
                $"{path}: manifest lists adapter trainables that method '{manifest.Method}' does not plan for its targets; the file was edited or damaged. Re-run `vblora-graph prepare`.");
        return (method, plan);
    }
}
