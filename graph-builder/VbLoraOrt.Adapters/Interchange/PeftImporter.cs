using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>A PEFT adapter directory read against a model's linear modules.</summary>
/// <param name="Directory">Where it was read from.</param>
/// <param name="Config">Its <c>adapter_config.json</c>.</param>
/// <param name="Plan">The method's plan; target paths are PEFT's (<see cref="ModulePrefix"/> + the ONNX path).</param>
/// <param name="Adapter">The method, values and factors.</param>
/// <param name="ModulePrefix">What PEFT's module paths have before the ONNX export's (e.g. <c>bert.</c>), or empty.</param>
/// <param name="Head">The head kept in <c>modules_to_save</c>, or null.</param>
public sealed record PeftAdapter(string Directory, AdapterConfig Config, AdapterPlan Plan, PeftDecoded Adapter, string ModulePrefix, PeftHead? Head);

/// <summary>
/// Reads a PEFT adapter directory (<c>adapter_config.json</c> and <c>adapter_model.safetensors</c>, as PEFT writes
/// them, with or without this project's metadata) for a model (DESIGN.md §2, PEFT interchange): the targets are the
/// model's linear modules <c>target_modules</c> selects, as PEFT selects them; every tensor key must be explained by
/// the config (a target's tensor, a shared tensor, or a <c>modules_to_save</c> module) and fit the module it names.
/// </summary>
public static class PeftImporter
{
    const string ModelKeys = "base_model.model.";

    /// <summary>Reads and checks <paramref name="directory"/> against <paramref name="modules"/>.</summary>
    /// <param name="directory">The PEFT directory.</param>
    /// <param name="modules">The linear modules of the model it is applied to.</param>
    /// <param name="modelName">The model's file, named in errors.</param>
    /// <exception cref="BadInputException">Any problem; the message names the file, field, key or module.</exception>
    public static PeftAdapter Read(string directory, IReadOnlyList<LinearModule> modules, string modelName)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(modules);
        var (config, tensors) = PeftDirectory.Read(directory);
        string configFile = Path.Combine(directory, PeftKeys.ConfigFileName), weightsFile = Path.Combine(directory, PeftKeys.WeightsFileName);
        var form = AdapterMethods.PeftFormFor(config.PeftType)
            ?? throw new PeftFormatException($"{configFile}: peft_type '{config.PeftType}' has no method in this build.");
        RequireCommonFieldsSupported(config, configFile);

        var moduleTensors = form.ModuleTensors(config);
        string prefix = ModulePrefix(tensors, moduleTensors, modules, weightsFile, modelName);
        var spec = TargetSpecOf(config, configFile);
        var targets = modules.Where(m => spec.Matches(prefix + m.Path)).Select(m => m with { Path = prefix + m.Path }).ToList();
        if (targets.Count == 0)
            throw new PeftFormatException(
                $"{configFile}: target_modules {config["target_modules"]?.ToJsonString()} selects none of the linear modules of {modelName} " +
                $"({string.Join(", ", modules.Take(8).Select(m => m.Path))}{(modules.Count > 8 ? ", …" : "")}); the adapter was trained on another model.");
        RequireKeysOfTargets(tensors, moduleTensors, targets, weightsFile, configFile);

        IAdapterMethod method;
        AdapterPlan plan;
        try
        {
            method = form.Configure(config, configFile);
            plan = method.Plan(targets);
        }
        catch (Exception e) when (e is UsageException or AdapterException)
        {
            throw new PeftFormatException($"{configFile}: the {config.PeftType} config does not form an adapter for {modelName}: {e.Message.TrimEnd('.')}.", e);
        }
        var stored = new StoredTensors(weightsFile, tensors);
        var decoded = form.Decode(method, plan, config, stored);
        var head = ReadHead(config, tensors, stored);
        stored.RequireAllTaken();
        return new PeftAdapter(directory, config, plan, decoded, prefix, head);
    }

    static void RequireCommonFieldsSupported(AdapterConfig config, string source)
    {
        PeftFields.Require(config, source, "fan_in_fan_out", false, "ONNX exports hold Linear weights, not GPT-2's Conv1D");
        PeftFields.Require(config, source, "bias", "none", "adapter biases are not implemented");
        PeftFields.Require(config, source, "layers_to_transform", null, "select layers with target_modules instead");
        PeftFields.Require(config, source, "layers_pattern", null, "select layers with target_modules instead");
    }

    static TargetSpec TargetSpecOf(AdapterConfig config, string source)
    {
        try
        {
            var spec = config.TargetModuleNames is { } names
                ? TargetSpec.FromNames(names)
                : TargetSpec.FromRegex(config.TargetModulesPattern!);
            if (!config.Fields.TryGetValue("exclude_modules", out var exclude) || exclude is null)
                return spec;
            return exclude is System.Text.Json.Nodes.JsonArray list
                ? spec.Excluding(list.Select(n => n!.GetValue<string>()))
                : spec.ExcludingRegex(exclude.GetValue<string>());
        }
        catch (UsageException e)
        {
            throw new PeftFormatException($"{source}: target_modules or exclude_modules is unusable: {e.Message.TrimEnd('.')}.", e);
        }
    }

    // The module a per-module key belongs to (its path in PEFT's model), or null for other keys.
    static string? ModuleOf(string key, IReadOnlyList<string> moduleTensors) =>
        key.StartsWith(ModelKeys, StringComparison.Ordinal)
            ? moduleTensors.Where(t => key.EndsWith("." + t, StringComparison.Ordinal)).Select(t => key[ModelKeys.Length..^(t.Length + 1)]).FirstOrDefault()
            : null;

    // PEFT's module paths are the wrapped transformers model's (e.g. bert.encoder.layer.0…); the export's may lack
    // the leading part. The prefix is what every module key has before a path of the model; all keys must agree.
    static string ModulePrefix(IReadOnlyList<SafeTensor> tensors, IReadOnlyList<string> moduleTensors, IReadOnlyList<LinearModule> modules,
        string weightsFile, string modelName)
    {
        string? prefix = null;
        foreach (var tensor in tensors)
        {
            if (ModuleOf(tensor.Name, moduleTensors) is not { } path)
                continue;
            var module = modules.Where(m => path == m.Path || path.EndsWith("." + m.Path, StringComparison.Ordinal)).MaxBy(m => m.Path.Length)
                ?? throw new PeftFormatException(
                    $"{weightsFile}: tensor '{tensor.Name}' adapts module '{path}', which is not a linear module of {modelName} " +
                    $"(its modules: {string.Join(", ", modules.Take(8).Select(m => m.Path))}{(modules.Count > 8 ? ", …" : "")}); the adapter was trained on another model.");
            string found = path[..^module.Path.Length];
            if (prefix != null && prefix != found)
                throw new PeftFormatException($"{weightsFile}: tensor '{tensor.Name}' puts module paths under '{found}', other tensors under '{prefix}'; the file mixes two models.");
            prefix = found;
        }
        return prefix ?? "";
    }

    // Every per-module key must name a module target_modules selects.
    static void RequireKeysOfTargets(IReadOnlyList<SafeTensor> tensors, IReadOnlyList<string> moduleTensors, IReadOnlyList<LinearModule> targets,
        string weightsFile, string configFile)
    {
        var paths = targets.Select(t => t.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var tensor in tensors)
            if (ModuleOf(tensor.Name, moduleTensors) is { } path && !paths.Contains(path))
                throw new PeftFormatException(
                    $"{weightsFile}: tensor '{tensor.Name}' adapts module '{path}', which target_modules in {configFile} does not select; the config does not explain it.");
    }

    static PeftHead? ReadHead(AdapterConfig config, IReadOnlyList<SafeTensor> tensors, StoredTensors stored)
    {
        foreach (string module in config.ModulesToSave ?? [])
        {
            string weightKey = PeftKeys.ModuleToSave(module, "weight");
            var weight = tensors.FirstOrDefault(t => t.Name == weightKey);
            if (weight == null)
                continue;
            if (weight.Shape.Length != 2)
                throw stored.Bad($"head tensor '{weightKey}' has shape [{string.Join(",", weight.Shape)}]; a classifier weight is [labels, hidden]");
            int labels = checked((int)weight.Shape[0]), hidden = checked((int)weight.Shape[1]);
            return new PeftHead(module,
                stored.TakeFiniteFloats(weightKey, [labels, hidden]),
                stored.TakeFiniteFloats(PeftKeys.ModuleToSave(module, "bias"), [labels]), labels, hidden);
        }
        return null;
    }
}
