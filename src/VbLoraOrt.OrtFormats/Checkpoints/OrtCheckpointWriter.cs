using Google.FlatBuffers;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// Writes an <see cref="OrtCheckpoint"/> as ONNX Runtime's training checkpoint: a flatbuffer with identifier "ODTC"
/// and format version <see cref="OrtCheckpoint.FormatVersion"/>, every tensor inline as float32 (no external data
/// file). Both parameter lists and every optimizer group's state vector are always present, empty or not, because
/// ONNX Runtime refuses a checkpoint without them. The property bag is omitted when empty, as ONNX Runtime does.
/// </summary>
public static class OrtCheckpointWriter
{
    /// <summary>The most a flatbuffer can address (32-bit offsets).</summary>
    const long MaxBufferBytes = int.MaxValue;
    const int OverheadBytesPerTensor = 256;

    /// <summary>Writes <paramref name="checkpoint"/> to <paramref name="path"/> atomically (a reader sees the old file or the whole new one).</summary>
    /// <exception cref="OrtCheckpointException">The checkpoint does not fit in one flatbuffer.</exception>
    public static void Write(OrtCheckpoint checkpoint, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = ToBytes(checkpoint, path);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Writes <paramref name="checkpoint"/> to <paramref name="stream"/>.</summary>
    /// <exception cref="OrtCheckpointException">The checkpoint does not fit in one flatbuffer.</exception>
    public static void Write(OrtCheckpoint checkpoint, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(ToBytes(checkpoint, "(stream)"));
    }

    /// <summary>The checkpoint file's bytes.</summary>
    /// <exception cref="OrtCheckpointException">The checkpoint does not fit in one flatbuffer.</exception>
    public static byte[] ToBytes(OrtCheckpoint checkpoint) => ToBytes(checkpoint, "(bytes)");

    static byte[] ToBytes(OrtCheckpoint checkpoint, string target)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX Runtime checkpoints are written on little-endian machines only.");
        var builder = new FlatBufferBuilder(InitialCapacity(checkpoint, target));
        var trainable = checkpoint.TrainableParameters.Select(p => TensorTable.CreateFloat(builder, p.Name, p.Dims, p.Values)).ToArray();
        var frozen = checkpoint.FrozenParameters.Select(p => TensorTable.CreateFloat(builder, p.Name, p.Dims, p.Values)).ToArray();
        var moduleState = ModuleStateTable.Create(builder, trainable, frozen);
        var dims = checkpoint.TrainableParameters.ToDictionary(p => p.Name, p => p.Dims, StringComparer.Ordinal);
        var groups = checkpoint.OptimizerGroups.Select(g => WriteGroup(builder, g, dims)).ToArray();
        var bag = checkpoint.Properties.Count == 0
            ? (Offset<PropertyBagTable>?)null
            : PropertyBagTable.Create(builder, checkpoint.Properties.Ints, checkpoint.Properties.Floats, checkpoint.Properties.Strings);
        CheckpointTable.Finish(builder, OrtCheckpoint.FormatVersion, moduleState, groups, bag);
        return builder.SizedByteArray();
    }

    static Offset<OptimizerGroupTable> WriteGroup(
        FlatBufferBuilder builder, OrtOptimizerGroup group, Dictionary<string, IReadOnlyList<long>> dims)
    {
        var states = group.Moments.Select(m =>
        {
            var parameterDims = dims[m.ParameterName];
            var first = TensorTable.CreateFloat(builder, ParameterMoments.FirstMomentName, parameterDims, m.FirstMoment);
            var second = TensorTable.CreateFloat(builder, ParameterMoments.SecondMomentName, parameterDims, m.SecondMoment);
            return ParameterOptimizerStateTable.Create(builder, m.ParameterName, [first, second]);
        }).ToArray();
        return OptimizerGroupTable.Create(builder, group.Name, group.Step, group.InitialLearningRate, states);
    }

    /// <summary>Room for every tensor up front, so the builder does not regrow; refuses what cannot fit.</summary>
    static int InitialCapacity(OrtCheckpoint checkpoint, string target)
    {
        long bytes = 1024;
        foreach (var p in checkpoint.TrainableParameters.Concat(checkpoint.FrozenParameters))
            bytes += (long)p.Values.Length * sizeof(float) + OverheadBytesPerTensor;
        foreach (var m in checkpoint.OptimizerGroups.SelectMany(g => g.Moments))
            bytes += 2 * ((long)m.FirstMoment.Length * sizeof(float) + OverheadBytesPerTensor);
        foreach (var (name, value) in checkpoint.Properties.Strings)
            bytes += 3L * (name.Length + value.Length) + OverheadBytesPerTensor;
        if (bytes > MaxBufferBytes)
            throw new OrtCheckpointException(target,
                $"needs about {bytes} bytes, more than the {MaxBufferBytes} one flatbuffer can hold. ONNX Runtime " +
                "stores larger checkpoints with an external data file, which VbLoraOrt does not write; train fewer or " +
                "smaller parameters, or keep the frozen ones as initializers of the training model.");
        return (int)bytes;
    }
}
