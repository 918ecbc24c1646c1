namespace VbLoraOrt.Adapters.Files;

/// <summary>
/// Tensor keys of the adapter file that every method shares: the task head, which PEFT's adapters do not have, sits
/// under <c>head.</c>. Each method's own keys (PEFT's) are in its folder.
/// </summary>
public static class StoredTensorNames
{
    /// <summary>The classifier weight <c>[labels, hidden]</c>, F32, in torch <c>Linear.weight</c> layout (the transpose of the graph's <c>[hidden, labels]</c>).</summary>
    public const string HeadWeight = "head.classifier.weight";

    /// <summary>The classifier bias <c>[labels]</c>, F32.</summary>
    public const string HeadBias = "head.classifier.bias";
}
