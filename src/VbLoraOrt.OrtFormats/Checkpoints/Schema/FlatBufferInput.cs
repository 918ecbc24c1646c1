using System.Text;
using Google.FlatBuffers;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// The bytes of one flatbuffer and the name to blame in errors. Every read goes through a check against
/// <see cref="Length"/> first, so a damaged or forged buffer ends in an <see cref="OrtCheckpointException"/> that
/// gives the byte offset, never in an index or overflow exception.
/// </summary>
/// <remarks>
/// Why not Google.FlatBuffers' own <c>Verifier</c>: in 25.2.10 it computes a table's vtable position as an
/// <c>Int16</c>, so every table that starts past byte 32 767 fails verification (and it prints the overflow to the
/// console). Checkpoint tensors sit far past that, so this reader checks offsets itself.
/// </remarks>
sealed class FlatBufferInput(byte[] bytes, string source)
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public ByteBuffer Buffer { get; } = new(bytes);
    public int Length { get; } = bytes.Length;
    public string Source { get; } = source;

    public OrtCheckpointException Malformed(long offset, string problem) =>
        new(Source, $"is malformed at byte {offset}: {problem}. The file is damaged or was not written by ONNX Runtime or VbLoraOrt.");

    /// <summary>Throws unless <paramref name="count"/> bytes from <paramref name="position"/> lie in the buffer.</summary>
    public void Require(long position, long count, string what)
    {
        if (position < 0 || count < 0 || position > Length - count)
            throw Malformed(position, $"{what} needs {count} bytes at byte {position}, beyond the end of the {Length}-byte buffer");
    }

    /// <summary>Follows the unsigned offset stored at <paramref name="position"/> (already checked) to its target.</summary>
    public int Indirect(int position, string what)
    {
        uint offset = Buffer.GetUint(position);
        long target = position + (long)offset;
        if (offset == 0 || target >= Length)
            throw Malformed(position, $"{what} points to byte {target}, outside the {Length}-byte buffer");
        return (int)target;
    }

    /// <summary>A length-prefixed vector at <paramref name="position"/>: its element count, checked to fit.</summary>
    public int VectorCount(int position, int elementSize, string what)
    {
        Require(position, sizeof(uint), $"the length of {what}");
        uint count = Buffer.GetUint(position);
        long available = Length - (position + (long)sizeof(uint));
        if ((ulong)count * (ulong)elementSize > (ulong)available)
            throw Malformed(position, $"{what} declares {count} elements of {elementSize} bytes, more than the {available} bytes left");
        return (int)count;
    }

    /// <summary>A flatbuffer string (length-prefixed UTF-8, zero-terminated) at <paramref name="position"/>.</summary>
    public string String(int position, string what)
    {
        int length = VectorCount(position, 1, what);
        int start = position + sizeof(uint);
        Require(start + (long)length, 1, $"the terminating zero of {what}");
        if (Buffer.Get(start + length) != 0)
            throw Malformed(start + length, $"{what} is not zero-terminated");
        try
        {
            return StrictUtf8.GetString(bytes, start, length);
        }
        catch (DecoderFallbackException e)
        {
            throw Malformed(start + e.Index, $"{what} is not valid UTF-8");
        }
    }

    /// <summary><paramref name="length"/> bytes from <paramref name="start"/>, already checked to lie in the buffer.</summary>
    public ReadOnlySpan<byte> Span(int start, int length) => bytes.AsSpan(start, length);
}
