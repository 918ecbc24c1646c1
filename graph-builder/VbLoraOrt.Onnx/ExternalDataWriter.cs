using Google.Protobuf;
using Onnx;

namespace VbLoraOrt.Onnx;

/// <summary>
/// Produces the protobuf to write for <see cref="OnnxModel.Save"/>: every tensor either inline or in one new
/// data file (written atomically before the model), or kept as a reference to a file already in the target folder.
/// </summary>
static class ExternalDataWriter
{
    const int Alignment = 64;

    public static ModelProto Prepare(OnnxModel model, string? targetDirectory, ExternalDataOptions? external)
    {
        ModelProto output = model.Proto.Clone();
        var tensors = AllTensors(output.Graph).ToList();
        string? dataPath = external != null && targetDirectory != null
            ? Path.GetFullPath(Path.Combine(targetDirectory, external.FileName))
            : null;

        // Read everything the new file needs before writing it: a tensor may live in the file being replaced.
        var pending = new List<(TensorProto Tensor, byte[] Bytes)>();
        foreach (TensorProto tensor in tensors)
        {
            if (TensorStore.IsExternal(tensor) && KeepsReference(model, tensor, targetDirectory, dataPath, external))
                continue;
            bool wasExternal = TensorStore.IsExternal(tensor);
            byte[]? bytes = wasExternal ? model.Tensors.ReadBytes(tensor) : null;
            long size = bytes?.LongLength ?? InlineSize(tensor);
            if (dataPath != null && size >= external!.ThresholdBytes)
                pending.Add((tensor, bytes ?? model.Tensors.ReadBytes(tensor)));
            else if (wasExternal)
                MakeInline(tensor, bytes!);
        }
        if (dataPath != null && pending.Count > 0)
        {
            string name = external!.NameByContent ? ContentName(external.FileName, pending) : external.FileName;
            WriteDataFile(Path.Combine(targetDirectory!, name), name, pending);
        }
        return output;
    }

    static bool KeepsReference(OnnxModel model, TensorProto tensor, string? targetDirectory, string? dataPath, ExternalDataOptions? external)
    {
        if (targetDirectory == null || external is not { ShareExistingFiles: true })
            return false;
        string file = model.Tensors.ResolveExternal(tensor).Path;
        return file != dataPath && Path.GetDirectoryName(file) == Path.GetFullPath(targetDirectory);
    }

    static long InlineSize(TensorProto tensor) =>
        tensor.HasRawData ? tensor.RawData.Length : ElementType.ElementCount(tensor.Dims) * Math.Max(1, ElementType.SizeOf(tensor.DataType));

    static void MakeInline(TensorProto tensor, byte[] bytes)
    {
        tensor.ExternalData.Clear();
        tensor.ClearDataLocation();
        tensor.RawData = ByteString.CopyFrom(bytes);
    }

    // The bytes WriteDataFile writes, hashed: stem.<12 hex>.ext.
    static string ContentName(string fileName, List<(TensorProto Tensor, byte[] Bytes)> pending)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        long offset = 0;
        foreach (var (_, bytes) in pending)
        {
            long padding = (Alignment - offset % Alignment) % Alignment;
            hash.AppendData(new byte[padding]);
            hash.AppendData(bytes);
            offset += padding + bytes.LongLength;
        }
        string digest = Convert.ToHexStringLower(hash.GetHashAndReset())[..12];
        string directory = Path.GetDirectoryName(fileName) ?? "";
        return Path.Combine(directory, $"{Path.GetFileNameWithoutExtension(fileName)}.{digest}{Path.GetExtension(fileName)}");
    }

    static void WriteDataFile(string dataPath, string relativeName, List<(TensorProto Tensor, byte[] Bytes)> pending)
    {
        AtomicFile.Write(dataPath, stream =>
        {
            long offset = 0;
            foreach (var (tensor, bytes) in pending)
            {
                long padding = (Alignment - offset % Alignment) % Alignment;
                stream.Write(new byte[padding]);
                offset += padding;
                stream.Write(bytes);
                SetExternal(tensor, relativeName, offset, bytes.LongLength);
                offset += bytes.LongLength;
            }
        });
    }

    static void SetExternal(TensorProto tensor, string location, long offset, long length)
    {
        tensor.ClearRawData();
        tensor.FloatData.Clear();
        tensor.Int32Data.Clear();
        tensor.Int64Data.Clear();
        tensor.DoubleData.Clear();
        tensor.Uint64Data.Clear();
        tensor.ExternalData.Clear();
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location.Replace('\\', '/') });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
    }

    /// <summary>Initializers and Constant-node tensors of a graph and its subgraphs.</summary>
    public static IEnumerable<TensorProto> AllTensors(GraphProto graph)
    {
        foreach (var t in graph.Initializer)
            yield return t;
        foreach (var node in graph.Node)
            foreach (var attr in node.Attribute)
            {
                if (attr.T != null) yield return attr.T;
                foreach (var t in attr.Tensors) yield return t;
                if (attr.G != null)
                    foreach (var t in AllTensors(attr.G)) yield return t;
                foreach (var g in attr.Graphs)
                    foreach (var t in AllTensors(g)) yield return t;
            }
    }
}
