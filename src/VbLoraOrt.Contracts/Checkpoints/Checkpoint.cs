using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Contracts.Checkpoints;

/// <summary>
/// Everything needed to resume training: trainable tensors and AdamW moments by contract name, the number of
/// optimizer steps applied, the data loader's position, and the identity of the artifacts it belongs to.
/// Saved as one checksummed file (see <see cref="CheckpointFormat"/>), written atomically.
/// </summary>
public sealed class Checkpoint
{
    readonly Dictionary<string, NamedTensor> _byName;

    /// <summary>Creates a checkpoint; the tensors are kept, not copied.</summary>
    /// <exception cref="ArgumentException">Empty identity, negative step, duplicate or empty names, or values that do not fill a shape.</exception>
    public Checkpoint(string artifactsId, long step, DataLoaderPosition position, IReadOnlyList<NamedTensor> tensors)
    {
        ArgumentException.ThrowIfNullOrEmpty(artifactsId);
        ArgumentNullException.ThrowIfNull(position);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (System.Text.Encoding.UTF8.GetByteCount(artifactsId) > CheckpointFormat.MaxNameBytes)
            throw new ArgumentException($"artifacts id is longer than {CheckpointFormat.MaxNameBytes} bytes.", nameof(artifactsId));
        _byName = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            if (string.IsNullOrEmpty(tensor.Name))
                throw new ArgumentException("a tensor has an empty name.", nameof(tensors));
            if (!_byName.TryAdd(tensor.Name, tensor))
                throw new ArgumentException($"tensor '{tensor.Name}' appears twice.", nameof(tensors));
            if (tensor.Shape.Length > CheckpointFormat.MaxRank || tensor.Shape.Any(d => d < 0))
                throw new ArgumentException($"tensor '{tensor.Name}' has an invalid shape [{string.Join(",", tensor.Shape)}].", nameof(tensors));
            if (tensor.ElementCount != tensor.Values.Length)
                throw new ArgumentException(
                    $"tensor '{tensor.Name}' has {tensor.Values.Length} values for shape [{string.Join(",", tensor.Shape)}] ({tensor.ElementCount} elements).", nameof(tensors));
        }
        ArtifactsId = artifactsId;
        Step = step;
        Position = position;
        Tensors = tensors;
    }

    /// <summary>Identity of the artifacts this state belongs to (<c>ArtifactManifest.Identity</c>).</summary>
    public string ArtifactsId { get; }

    /// <summary>Optimizer steps applied so far (the next step's bias correction uses <c>Step + 1</c>).</summary>
    public long Step { get; }

    /// <summary>Where the data loader resumes.</summary>
    public DataLoaderPosition Position { get; }

    /// <summary>Trainables and moments, in the order they were given.</summary>
    public IReadOnlyList<NamedTensor> Tensors { get; }

    /// <summary>
    /// Refuses a state holding a non-finite value (DESIGN.md §8): training never produces one (non-finite steps are
    /// rejected), so it is a damaged or foreign file, and resuming or exporting it would give NaN answers.
    /// </summary>
    /// <exception cref="CheckpointException">A tensor holds NaN or ±infinity; the message names it, the element and the file.</exception>
    public Checkpoint RequireFinite(string displayName)
    {
        foreach (var tensor in Tensors)
        {
            int bad = Array.FindIndex(tensor.Values, v => !float.IsFinite(v));
            if (bad >= 0)
                throw new CheckpointException(displayName,
                    $"tensor '{tensor.Name}' holds a non-finite value ({tensor.Values[bad]}) at element {bad}; resume from an earlier checkpoint or start the run again.");
        }
        return this;
    }

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public NamedTensor? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// Writes the checkpoint to <paramref name="path"/> beside-then-rename: until the new file is complete the
    /// previous checkpoint at <paramref name="path"/> stays intact.
    /// </summary>
    public void Save(string path) => Save(path, stream => stream);

    /// <summary>As <see cref="Save(string)"/>, writing through <paramref name="wrap"/> (tests inject failures here).</summary>
    internal void Save(string path, Func<Stream, Stream> wrap)
    {
        ArgumentNullException.ThrowIfNull(path);
        VbLoraOrt.Onnx.AtomicFile.Write(path, stream => CheckpointFormat.Write(wrap(stream), this));
    }

    /// <summary>
    /// Loads and verifies a checkpoint. When <paramref name="expectedArtifactsId"/> is given, a checkpoint written
    /// for other artifacts is refused.
    /// </summary>
    /// <exception cref="CheckpointException">Missing, too large, truncated, corrupted, malformed, or for other artifacts.</exception>
    public static Checkpoint Load(string path, string? expectedArtifactsId)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new CheckpointException(path, "file not found.");
        using var stream = File.OpenRead(path);
        return Load(stream, path, expectedArtifactsId);
    }

    /// <summary>Loads from a stream; <paramref name="displayName"/> names it in errors.</summary>
    /// <exception cref="CheckpointException">Too large, truncated, corrupted, malformed, or for other artifacts.</exception>
    public static Checkpoint Load(Stream stream, string displayName, string? expectedArtifactsId)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(displayName);
        byte[] bytes = ReadAll(stream, displayName);
        var checkpoint = CheckpointFormat.Read(bytes, displayName).RequireFinite(displayName);
        if (expectedArtifactsId is not null && checkpoint.ArtifactsId != expectedArtifactsId)
            throw new CheckpointException(displayName,
                $"belongs to artifacts '{checkpoint.ArtifactsId}', not to the artifacts in use '{expectedArtifactsId}'. " +
                "Resume with a checkpoint written for these artifacts, or start from their initial checkpoint.");
        return checkpoint;
    }

    static byte[] ReadAll(Stream stream, string displayName)
    {
        if (stream.CanSeek)
        {
            long length = stream.Length - stream.Position;
            if (length > CheckpointFormat.MaxFileBytes)
                throw new CheckpointException(displayName, $"is {length} bytes, larger than the {CheckpointFormat.MaxFileBytes}-byte limit.");
            byte[] bytes = new byte[length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        using var copy = new MemoryStream();
        byte[] buffer = new byte[1 << 16];
        for (int read; (read = stream.Read(buffer)) > 0;)
        {
            if (copy.Length + read > CheckpointFormat.MaxFileBytes)
                throw new CheckpointException(displayName, $"is larger than the {CheckpointFormat.MaxFileBytes}-byte limit.");
            copy.Write(buffer, 0, read);
        }
        return copy.ToArray();
    }
}
