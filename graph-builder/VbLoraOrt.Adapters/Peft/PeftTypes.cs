namespace VbLoraOrt.Adapters.Peft;

/// <summary>
/// The values of <c>peft_type</c> in <c>adapter_config.json</c> for the methods this project reads and writes, spelled
/// as PEFT's <c>PeftType</c> enum spells them (<c>utils/peft_types.py</c>; it serialises as its string value).
/// </summary>
public static class PeftTypes
{
    /// <summary>LoRA.</summary>
    public const string Lora = "LORA";

    /// <summary>VB-LoRA.</summary>
    public const string VbLora = "VBLORA";

    /// <summary>VeRA.</summary>
    public const string Vera = "VERA";

    /// <summary>Uni-LoRA (PEFT's <c>UniLoraConfig</c>, added to PEFT in 2026 and released from 0.20).</summary>
    public const string UniLora = "UNILORA";

    /// <summary>Every supported value, in a stable order for messages.</summary>
    public static IReadOnlyList<string> Supported { get; } = [Lora, VbLora, Vera, UniLora];
}
