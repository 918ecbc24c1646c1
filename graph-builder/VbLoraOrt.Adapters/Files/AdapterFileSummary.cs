namespace VbLoraOrt.Adapters.Files;

/// <summary>Size of an adapter file, counted from the tensors actually in it.</summary>
/// <param name="Path">The file.</param>
/// <param name="FileBytes">Size of the file in bytes (header and metadata included).</param>
/// <param name="StoredParameterCount">
/// Adapter parameters stored, in float32 equivalents: tensor bytes / 4, so a U8 index counts 0.25 and an I16
/// index 0.5, as PEFT reports it; equals the method's <see cref="IAdapterMethod.StoredParameterCount"/>. Head excluded.
/// </param>
/// <param name="HeadParameterCount">Task-head parameters stored (0 for embed).</param>
public sealed record AdapterFileSummary(string Path, long FileBytes, double StoredParameterCount, long HeadParameterCount);
