using System.Runtime.InteropServices;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>A flatbuffer vector whose length has been checked to fit the buffer (see <see cref="CheckedTable"/>).</summary>
readonly struct CheckedVector(FlatBufferInput input, int start, int count, int elementSize, string what)
{
    public int Count => count;

    /// <summary>Element <paramref name="index"/> of a vector of tables.</summary>
    public CheckedTable TableAt(int index, string tableName)
    {
        int at = start + index * elementSize;
        return CheckedTable.At(input, input.Indirect(at, $"{what}[{index}]"), tableName);
    }

    /// <summary>The elements of an int64 vector.</summary>
    public long[] Int64s() => MemoryMarshal.Cast<byte, long>(input.Span(start, count * elementSize)).ToArray();

    /// <summary>The raw bytes of a byte vector.</summary>
    public ReadOnlySpan<byte> Bytes => input.Span(start, count * elementSize);
}
