using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Contracts.Checkpoints;

/// <summary>
/// The checkpoint file layout, little-endian:
/// <code>
/// header   magic "VBLCKPT\n" (8) · u32 version · u64 body length            (20 bytes)
/// body     str artifacts id · i64 step · i32 epoch · i64 batch index · i64 seed
///          u32 tensor count · per tensor: str name · u32 rank · i64 dims[rank] · f32 values[Π dims]
/// trailer  SHA-256 of header + body                                          (32 bytes)
/// </code>
/// <c>str</c> is a u32 byte length and UTF-8 bytes. Every count and length is checked against its limit and the
/// bytes actually present before anything is allocated.
/// </summary>
static class CheckpointFormat
{
    public const int Version = 1;
    public const int HeaderBytes = 20;
    public const int ChecksumBytes = 32;
    public const int MaxNameBytes = 4096;
    public const int MaxRank = 8;
    public const int MaxTensors = 1 << 20;
    public static readonly long MaxFileBytes = Array.MaxLength;
    static ReadOnlySpan<byte> Magic => "VBLCKPT\n"u8;

    public static void Write(Stream stream, Checkpoint checkpoint)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("checkpoints are written on little-endian machines only.");
        var body = new MemoryStream();
        using (var writer = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            WriteString(writer, checkpoint.ArtifactsId);
            writer.Write(checkpoint.Step);
            writer.Write(checkpoint.Position.Epoch);
            writer.Write(checkpoint.Position.BatchIndex);
            writer.Write(checkpoint.Position.Seed);
            writer.Write((uint)checkpoint.Tensors.Count);
            foreach (var tensor in checkpoint.Tensors)
            {
                WriteString(writer, tensor.Name);
                writer.Write((uint)tensor.Shape.Length);
                foreach (long d in tensor.Shape) writer.Write(d);
                writer.Write(MemoryMarshal.AsBytes(tensor.Values.AsSpan()));
            }
        }
        Span<byte> header = stackalloc byte[HeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteUInt64LittleEndian(header[12..], (ulong)body.Length);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header);
        hash.AppendData(body.GetBuffer(), 0, (int)body.Length);
        stream.Write(header);
        stream.Write(body.GetBuffer(), 0, (int)body.Length);
        stream.Write(hash.GetHashAndReset());
    }

    static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((uint)bytes.Length);
        writer.Write(bytes);
    }

    /// <summary>Parses a whole file's bytes; <paramref name="path"/> names it in errors.</summary>
    public static Checkpoint Read(ReadOnlySpan<byte> file, string path)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("checkpoints are read on little-endian machines only.");
        if (file.Length < Magic.Length || !file[..Magic.Length].SequenceEqual(Magic))
            throw new CheckpointException(path, "is not a VbLoraOrt checkpoint (its first bytes are not the \"VBLCKPT\" magic).");
        if (file.Length < HeaderBytes + ChecksumBytes)
            throw new CheckpointException(path, $"is truncated: {file.Length} bytes, shorter than the {HeaderBytes}-byte header and {ChecksumBytes}-byte checksum.");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(file[8..]);
        if (version != Version)
            throw new CheckpointException(path, $"has format version {version}; this build reads version {Version}. Use the runner version that wrote it.");
        ulong bodyLength = BinaryPrimitives.ReadUInt64LittleEndian(file[12..]);
        long present = file.Length - HeaderBytes - ChecksumBytes;
        if (bodyLength > (ulong)present)
            throw new CheckpointException(path, $"is truncated: the header promises {bodyLength} body bytes, the file holds {present}. The file was cut short after it was written (an interrupted copy, a full disk); restore it from a copy, or start the run again.");
        if (bodyLength < (ulong)present)
            throw new CheckpointException(path, $"has {(ulong)present - bodyLength} unexpected bytes after the checksum; the file is corrupted.");

        var covered = file[..(HeaderBytes + (int)bodyLength)];
        var stored = file[(HeaderBytes + (int)bodyLength)..];
        Span<byte> actual = stackalloc byte[ChecksumBytes];
        SHA256.HashData(covered, actual);
        if (!actual.SequenceEqual(stored))
            throw new CheckpointException(path,
                $"checksum mismatch (stored SHA-256 {Convert.ToHexStringLower(stored)}, content hashes to {Convert.ToHexStringLower(actual)}): " +
                "the file is corrupted. Restore it or resume from another checkpoint.");
        return ReadBody(new BodyReader(file[HeaderBytes..(HeaderBytes + (int)bodyLength)], path));
    }

    static Checkpoint ReadBody(BodyReader body)
    {
        string artifactsId = body.String("artifacts id");
        long step = body.Int64();
        var position = new DataLoaderPosition(body.Int32(), body.Int64(), body.Int64());
        uint count = body.UInt32();
        if (count > MaxTensors)
            throw body.Malformed($"declares {count} tensors, more than the limit of {MaxTensors}");
        var tensors = new List<NamedTensor>((int)Math.Min(count, 1024));
        for (uint i = 0; i < count; i++)
            tensors.Add(ReadTensor(ref body));
        if (!body.AtEnd)
            throw body.Malformed($"{body.Remaining} bytes follow the last tensor");
        try
        {
            return new Checkpoint(artifactsId, step, position, tensors);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(body.Path, $"holds invalid content: {e.Message}", e);
        }
    }

    static NamedTensor ReadTensor(ref BodyReader body)
    {
        string name = body.String("tensor name");
        uint rank = body.UInt32();
        if (rank > MaxRank)
            throw body.Malformed($"tensor '{name}' has rank {rank}, more than the limit of {MaxRank}");
        var shape = new long[rank];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            shape[d] = body.Int64();
            if (shape[d] < 0)
                throw body.Malformed($"tensor '{name}' has negative dimension {shape[d]}");
            // Checked by division before multiplying, so a forged dimension can neither overflow nor allocate.
            long budget = body.Remaining / sizeof(float);
            if (shape[d] != 0 && count > budget / shape[d])
                throw body.Malformed($"tensor '{name}' of shape [{string.Join(",", shape.Take(d + 1))}…] needs more bytes than the {body.Remaining} left");
            count *= shape[d];
        }
        var values = new float[count];
        body.Bytes(checked((int)count * sizeof(float)), $"tensor '{name}'").CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        return new NamedTensor(name, shape, values);
    }

    /// <summary>A bounds-checked cursor over the body; errors give the byte offset in the file.</summary>
    ref struct BodyReader(ReadOnlySpan<byte> body, string path)
    {
        readonly ReadOnlySpan<byte> _body = body;
        int _offset;

        public readonly string Path => path;
        public readonly int Remaining => _body.Length - _offset;
        public readonly bool AtEnd => _offset == _body.Length;

        public readonly CheckpointException Malformed(string problem) =>
            new(path, $"is malformed at byte {HeaderBytes + _offset}: {problem}.");

        public ReadOnlySpan<byte> Bytes(int count, string what)
        {
            if (count > Remaining)
                throw Malformed($"{what} needs {count} bytes, only {Remaining} remain");
            var slice = _body.Slice(_offset, count);
            _offset += count;
            return slice;
        }

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4, "an int32"));
        public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4, "a uint32"));
        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Bytes(8, "an int64"));

        public string String(string what)
        {
            uint length = UInt32();
            if (length > MaxNameBytes)
                throw Malformed($"{what} is {length} bytes long, more than the limit of {MaxNameBytes}");
            return Encoding.UTF8.GetString(Bytes((int)length, what));
        }
    }
}
