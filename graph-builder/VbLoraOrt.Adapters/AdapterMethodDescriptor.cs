using System.Text.Json;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>
/// Everything the pipeline knows about one adapter method, in one place (DESIGN.md §2): its name and options, its
/// parameter groups with their default learning rates, how to create the configured method (which then plans,
/// initialises, composes, zeroes and stores — <see cref="IAdapterMethod"/>), its PEFT type, and the demo's preset.
/// Each method's folder defines one; <see cref="AdapterMethods.All"/> lists them. Nothing outside a method's folder
/// names a method.
/// </summary>
public sealed class AdapterMethodDescriptor
{
    /// <summary>Short name: <c>--method NAME</c>, manifests, adapter files.</summary>
    public required string Name { get; init; }

    /// <summary>The name people use, e.g. <c>VB-LoRA</c>.</summary>
    public required string DisplayName { get; init; }

    /// <summary>One line for help: what is trained and how it becomes A and B.</summary>
    public required string Summary { get; init; }

    /// <summary>PEFT's <c>peft_type</c> for this method.</summary>
    public required string PeftType { get; init; }

    /// <summary>The method's options (besides <c>--seed</c>, which every method takes from <c>prepare</c>).</summary>
    public required IReadOnlyList<MethodOption> Options { get; init; }

    /// <summary>The parameter groups of the method's trainables (the head's group is added by the task).</summary>
    public required IReadOnlyList<ParameterGroup> Groups { get; init; }

    /// <summary>Creates the configured method from option values and the initialisation seed.</summary>
    /// <exception cref="UsageException">An option is out of range (the message names it).</exception>
    public required Func<MethodOptionValues, long, IAdapterMethod> Create { get; init; }

    /// <summary>Recreates the configured method from its <see cref="IAdapterMethod.SaveOptions"/> form (a manifest's or an adapter file's).</summary>
    public required Func<JsonElement, IAdapterMethod> Load { get; init; }

    /// <summary>The demo's configuration of this method on the SpamAssassin task (<c>vblora-run demo --method NAME</c>).</summary>
    public required DemoPreset Demo { get; init; }

    /// <summary>The variant sharing a frozen part of a trained adapter, where the method has one.</summary>
    public SharedVariant? Shared { get; init; }

    /// <summary>Creates the method with every option at its default.</summary>
    public IAdapterMethod CreateDefault(long seed = 42) => Create(MethodOptionValues.For(this), seed);
}
