using Google.Protobuf;
using Onnx;

namespace VbLoraOrt.Onnx;

/// <summary>
/// An ONNX model in memory together with the folder its external-data references are relative to.
/// Loading never copies external tensors into the protobuf; <see cref="TensorStore"/> reads them on demand.
/// </summary>
public sealed class OnnxModel
{
    /// <summary>Largest model file (protobuf part) accepted: protobuf itself cannot exceed 2 GiB.</summary>
    public const long MaxProtobufBytes = int.MaxValue;

    OnnxModel(ModelProto proto, string? baseDirectory, string? sourcePath)
    {
        Proto = proto;
        BaseDirectory = baseDirectory;
        SourcePath = sourcePath;
        Tensors = new TensorStore(this);
    }

    /// <summary>The protobuf message; edit it freely, then <see cref="Save"/>.</summary>
    public ModelProto Proto { get; }

    /// <summary>The main graph.</summary>
    public GraphProto Graph => Proto.Graph;

    /// <summary>Folder external-data locations are relative to; null for a model built in memory.</summary>
    public string? BaseDirectory { get; }

    /// <summary>The file this model was loaded from, if any.</summary>
    public string? SourcePath { get; }

    /// <summary>Reads tensor contents, inline or external.</summary>
    public TensorStore Tensors { get; }

    /// <summary>Opset version of the default (ai.onnx) domain.</summary>
    public long Opset =>
        Proto.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version
        ?? throw new OnnxFormatException(SourcePath ?? "<in-memory model>", "the model imports no default-domain opset.");

    /// <summary>Wraps a model built in memory.</summary>
    public static OnnxModel FromProto(ModelProto proto, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(proto);
        return new OnnxModel(proto, baseDirectory, null);
    }

    /// <summary>Loads a model file; external data stays on disk next to it.</summary>
    /// <exception cref="OnnxFormatException">The file is missing, too large, or not an ONNX model.</exception>
    public static OnnxModel Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new OnnxFormatException(path, "file not found. Check the path (run `vblora-fetch` for the MiniLM model).");
        long length = new FileInfo(path).Length;
        if (length > MaxProtobufBytes)
            throw new OnnxFormatException(path, $"is {length} bytes; an ONNX protobuf cannot exceed 2 GiB (store large tensors as external data).");
        using var stream = File.OpenRead(path);
        return Load(stream, path, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Loads a model from a stream; external data (if any) is resolved against <paramref name="baseDirectory"/>.</summary>
    public static OnnxModel Load(Stream stream, string displayName, string? baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException(displayName, $"is not a valid ONNX model (protobuf parse failed: {e.Message}). Is the file truncated or of another format?", e);
        }
        Validate(proto, displayName);
        return new OnnxModel(proto, baseDirectory, displayName);
    }

    static void Validate(ModelProto proto, string name)
    {
        if (proto.Graph == null || proto.Graph.Node.Count == 0)
            throw new OnnxFormatException(name, "has no graph nodes; it is not an ONNX model (or is truncated).");
        if (proto.OpsetImport.Count == 0)
            throw new OnnxFormatException(name, "imports no opset; it is not a valid ONNX model.");
        if (proto.IrVersion <= 0)
            throw new OnnxFormatException(name, "has no IR version; it is not a valid ONNX model.");
    }

    /// <summary>
    /// Writes the model atomically (temp file, then rename). With <paramref name="external"/>, tensors at or
    /// over its threshold go to one data file beside the model; tensors already stored in the target folder
    /// keep their references, so several models can share one weights file.
    /// </summary>
    public void Save(string path, ExternalDataOptions? external = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        ModelProto output = ExternalDataWriter.Prepare(this, directory, external);
        AtomicFile.Write(fullPath, stream => output.WriteTo(stream));
    }

    /// <summary>Serializes with every tensor inline (for in-memory sessions and hashing).</summary>
    public byte[] ToBytesInline()
    {
        ModelProto inline = ExternalDataWriter.Prepare(this, targetDirectory: null, external: null);
        return inline.ToByteArray();
    }

    /// <summary>Deep copy sharing the same base directory.</summary>
    public OnnxModel Clone() => new(Proto.Clone(), BaseDirectory, SourcePath);
}
