using System.Globalization;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// The base model's identity in an <c>.onnx_adapter</c> (DESIGN.md §7.1.2): the format has no free-form field, so the
/// adapter carries the first 31 bits of the base model's SHA-256 in its <c>adapter_version</c>, beside the method's
/// <see cref="ServingModelVersion"/> in <c>model_version</c>. 0 marks files that record none (not checked).
/// </summary>
public static class BaseModelStamp
{
    /// <summary>The stamp of the base model whose SHA-256 is <paramref name="sha256Hex"/>: never 0.</summary>
    /// <exception cref="ArgumentException">Not a hexadecimal SHA-256.</exception>
    public static int Of(string sha256Hex)
    {
        ArgumentNullException.ThrowIfNull(sha256Hex);
        if (sha256Hex.Length != 64 || !uint.TryParse(sha256Hex.AsSpan(0, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint leading))
            throw new ArgumentException($"'{sha256Hex}' is not a hexadecimal SHA-256.", nameof(sha256Hex));
        int stamp = (int)(leading >> 1);
        return stamp == 0 ? 1 : stamp;
    }

    /// <summary>How messages show a stamp: the SHA-256's leading hex digits it comes from.</summary>
    public static string Describe(int stamp) => ((uint)stamp << 1).ToString("x8", CultureInfo.InvariantCulture)[..7] + "…";
}
