namespace VbLoraOrt.Adapters;

/// <summary>
/// A method's variant in which part of a trained adapter is frozen and shared by every further adapter (DESIGN.md §2),
/// so each further adapter stores only what stays its own.
/// </summary>
/// <param name="Option">The method option naming the adapter file (of a trained run) whose shared part to freeze.</param>
/// <param name="Label">What the variant is called after the method's name, e.g. <c>shared frozen bank</c>.</param>
public sealed record SharedVariant(string Option, string Label);
