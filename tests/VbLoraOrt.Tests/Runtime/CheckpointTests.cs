using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Runtime;

[TestClass]
public sealed class CheckpointTests
{
    const string Artifacts = "sha256:aaaa";

    static string NewFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vblora-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    static Checkpoint Sample(long step = 7, float scale = 1f) => new(Artifacts, step, new DataLoaderPosition(2, 31, 1234),
    [
        new NamedTensor("bank", [2, 3], [1, 2, 3, 4, 5, 6 * scale]),
        new NamedTensor(ArtifactNames.FirstMoment("bank"), [2, 3], [0.1f, -0.2f, 0.3f, float.Epsilon, -0f, 1e-30f]),
        new NamedTensor("scalar", [], [42]),
        new NamedTensor("empty", [0, 4], []),
    ]);

    [TestMethod]
    public void Save_ThenLoad_RoundTripsEverythingBitwise()
    {
        string path = Path.Combine(NewFolder(), "a.ckpt");
        var saved = Sample();

        saved.Save(path);
        var loaded = Checkpoint.Load(path, Artifacts);

        Assert.AreEqual(saved.ArtifactsId, loaded.ArtifactsId);
        Assert.AreEqual(saved.Step, loaded.Step);
        Assert.AreEqual(saved.Position, loaded.Position);
        Assert.HasCount(saved.Tensors.Count, loaded.Tensors);
        for (int i = 0; i < saved.Tensors.Count; i++)
        {
            Assert.AreEqual(saved.Tensors[i].Name, loaded.Tensors[i].Name);
            CollectionAssert.AreEqual(saved.Tensors[i].Shape, loaded.Tensors[i].Shape);
            CollectionAssert.AreEqual(saved.Tensors[i].Values.Select(BitConverter.SingleToInt32Bits).ToArray(),
                loaded.Tensors[i].Values.Select(BitConverter.SingleToInt32Bits).ToArray(), saved.Tensors[i].Name);
        }
    }

    [TestMethod]
    public void Load_WhenTruncated_ThrowsNamingFileAndTruncation()
    {
        string path = Path.Combine(NewFolder(), "cut.ckpt");
        Sample().Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 40)]);

        var error = Assert.ThrowsExactly<CheckpointException>(() => Checkpoint.Load(path, Artifacts));

        StringAssert.Contains(error.Message, path);
        StringAssert.Contains(error.Message, "truncated");
    }

    [TestMethod]
    public void Load_WhenCutInsideHeader_ThrowsNamingTruncation()
    {
        string path = Path.Combine(NewFolder(), "stub.ckpt");
        Sample().Save(path);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..12]);

        var error = Assert.ThrowsExactly<CheckpointException>(() => Checkpoint.Load(path, Artifacts));

        StringAssert.Contains(error.Message, "truncated");
    }

    [TestMethod]
    [DataRow(30)]     // inside the artifacts id / step
    [DataRow(-50)]    // inside the tensor values, counted from the end
    [DataRow(-1)]     // inside the stored checksum
    public void Load_WhenOneBitFlipped_ThrowsChecksumMismatch(int offset)
    {
        string path = Path.Combine(NewFolder(), "flip.ckpt");
        Sample().Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[offset >= 0 ? offset : bytes.Length + offset] ^= 0x04;
        File.WriteAllBytes(path, bytes);

        var error = Assert.ThrowsExactly<CheckpointException>(() => Checkpoint.Load(path, Artifacts));

        StringAssert.Contains(error.Message, path);
        StringAssert.Contains(error.Message, "checksum mismatch");
    }

    [TestMethod]
    public void Load_WhenNotACheckpoint_ThrowsNamingMagic()
    {
        string path = Path.Combine(NewFolder(), "model.onnx");
        File.WriteAllBytes(path, new byte[100]);

        var error = Assert.ThrowsExactly<CheckpointException>(() => Checkpoint.Load(path, Artifacts));

        StringAssert.Contains(error.Message, "not a VbLoraOrt checkpoint");
    }

    [TestMethod]
    public void Load_WhenVersionIsNewer_ThrowsNamingVersions()
    {
        string path = Path.Combine(NewFolder(), "v2.ckpt");
        Sample().Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 2);
        File.WriteAllBytes(path, bytes);

        var error = Assert.ThrowsExactly<CheckpointException>(() => Checkpoint.Load(path, Artifacts));

        StringAssert.Contains(error.Message, "version 2");
        StringAssert.Contains(error.Message, "reads version 1");
    }

    [TestMethod]
    public void Load_WhenForOtherArtifacts_RefusesNamingBothIdentities()
    {
        string path = Path.Combine(NewFolder(), "other.ckpt");
        Sample().Save(path);

        var error = Assert.ThrowsExactly<CheckpointException>(() => Checkpoint.Load(path, "sha256:bbbb"));

        StringAssert.Contains(error.Message, "'sha256:aaaa'");
        StringAssert.Contains(error.Message, "'sha256:bbbb'");
    }

    [TestMethod]
    [DataRow(1L << 40, 1L << 40)]
    [DataRow(2L, 1L << 62)]   // 2 × 2^62 wraps to a negative int64 if multiplied unchecked
    public void Load_WhenATensorClaimsMoreElementsThanTheFileHolds_ThrowsBeforeAllocating(long dim0, long dim1)
    {
        // A well-checksummed file whose one tensor declares far more elements than its 16 data bytes: must fail on
        // the bound check, not by allocating or by wrapping around.
        string path = Path.Combine(NewFolder(), "forged.ckpt");
        var body = new MemoryStream();
        using (var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            w.Write((uint)Artifacts.Length); w.Write(Encoding.UTF8.GetBytes(Artifacts));
            w.Write(0L); w.Write(0); w.Write(0L); w.Write(0L);
            w.Write(1u);
            w.Write(4u); w.Write(Encoding.UTF8.GetBytes("huge"));
            w.Write(2u); w.Write(dim0); w.Write(dim1);
            w.Write(new byte[16]);
        }
        File.WriteAllBytes(path, Framed(body.ToArray()));

        var error = Assert.ThrowsExactly<CheckpointException>(() => Checkpoint.Load(path, Artifacts));

        StringAssert.Contains(error.Message, "malformed");
        StringAssert.Contains(error.Message, "'huge'");
    }

    [TestMethod]
    public void Load_WhenTensorCountIsAbsurd_ThrowsNamingTheLimit()
    {
        string path = Path.Combine(NewFolder(), "count.ckpt");
        var body = new MemoryStream();
        using (var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            w.Write((uint)Artifacts.Length); w.Write(Encoding.UTF8.GetBytes(Artifacts));
            w.Write(0L); w.Write(0); w.Write(0L); w.Write(0L);
            w.Write(uint.MaxValue);
        }
        File.WriteAllBytes(path, Framed(body.ToArray()));

        var error = Assert.ThrowsExactly<CheckpointException>(() => Checkpoint.Load(path, Artifacts));

        StringAssert.Contains(error.Message, "more than the limit");
    }

    [TestMethod]
    public void Save_WhenWriteFailsMidway_KeepsThePreviousCheckpoint()
    {
        string dir = NewFolder();
        string path = Path.Combine(dir, "run.ckpt");
        Sample(step: 1).Save(path);

        Assert.ThrowsExactly<IOException>(() => Sample(step: 2, scale: 3f).Save(path, s => new FailingStream(s, failAfterBytes: 60)));

        var survivor = Checkpoint.Load(path, Artifacts);
        Assert.AreEqual(1L, survivor.Step, "the previous good checkpoint is intact");
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(dir), "no temporary file is left behind");
    }

    [TestMethod]
    public void Save_OverAnExistingCheckpoint_ReplacesIt()
    {
        string path = Path.Combine(NewFolder(), "run.ckpt");
        Sample(step: 1).Save(path);

        Sample(step: 2).Save(path);

        Assert.AreEqual(2L, Checkpoint.Load(path, Artifacts).Step);
    }

    [TestMethod]
    public void Create_WhenValuesDoNotFillShape_ThrowsNamingTensor()
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => new Checkpoint(Artifacts, 0, DataLoaderPosition.Start(1),
            [new NamedTensor("bank", [2, 3], [1, 2, 3])]));
        StringAssert.Contains(error.Message, "'bank' has 3 values for shape [2,3]");
    }

    static byte[] Framed(byte[] body)
    {
        byte[] header = new byte[20];
        "VBLCKPT\n"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(12), (ulong)body.Length);
        byte[] covered = [.. header, .. body];
        return [.. covered, .. SHA256.HashData(covered)];
    }

    /// <summary>Passes writes through until a byte budget is spent, then fails like a full disk.</summary>
    sealed class FailingStream(Stream inner, int failAfterBytes) : Stream
    {
        int _left = failAfterBytes;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.Length > _left)
            {
                inner.Write(buffer[.._left]);
                _left = 0;
                throw new IOException("No space left on device (simulated)");
            }
            inner.Write(buffer);
            _left -= buffer.Length;
        }
    }
}
