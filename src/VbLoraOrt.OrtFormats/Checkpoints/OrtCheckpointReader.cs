using System.Runtime.InteropServices;
using System.Text;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// Reads ONNX Runtime's training checkpoint (flatbuffer identifier "ODTC", format version
/// <see cref="OrtCheckpoint.FormatVersion"/>) into an <see cref="OrtCheckpoint"/>. Refuses, with an
/// <see cref="OrtCheckpointException"/> naming what it found: another identifier or version, a damaged buffer (with the
/// byte offset), content ONNX Runtime itself would refuse (a missing parameter list or name), and what this reader
/// does not hold: nominal states (shapes without values), external data, tensors that are not float32, and optimizer
/// states other than AdamW's two moments.
/// </summary>
public static class OrtCheckpointReader
{
    const int HeaderBytes = 8, IdentifierOffset = 4;

    /// <summary>Reads the checkpoint file at <paramref name="path"/>.</summary>
    /// <exception cref="OrtCheckpointException">The file is not a checkpoint this reader holds; the message says why.</exception>
    public static OrtCheckpoint Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        long length = new FileInfo(path).Length;
        if (length > Array.MaxLength)
            throw new OrtCheckpointException(path, $"is {length} bytes long, larger than any flatbuffer (at most 2 GiB): it is not an ONNX Runtime checkpoint.");
        return Read(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads a checkpoint from <paramref name="stream"/>; <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="OrtCheckpointException">The bytes are not a checkpoint this reader holds; the message says why.</exception>
    public static OrtCheckpoint Read(Stream stream, string sourceName = "(stream)")
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Read(copy.ToArray(), sourceName);
    }

    /// <summary>Reads a checkpoint from its bytes; <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="OrtCheckpointException">The bytes are not a checkpoint this reader holds; the message says why.</exception>
    public static OrtCheckpoint Read(byte[] bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentException.ThrowIfNullOrEmpty(sourceName);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX Runtime checkpoints are read on little-endian machines only.");
        CheckIdentifier(bytes, sourceName);
        try
        {
            return Parse(new FlatBufferInput(bytes, sourceName));
        }
        catch (ArgumentException e)
        {
            // The model types validate what the file holds (names, sizes, which parameters have moments).
            throw new OrtCheckpointException(sourceName, $"holds content ONNX Runtime cannot use: {e.Message}", e);
        }
    }

    static OrtCheckpoint Parse(FlatBufferInput input)
    {
        string sourceName = input.Source;
        var root = CheckpointTable.GetRoot(input);
        if (root.Version != OrtCheckpoint.FormatVersion)
            throw new OrtCheckpointException(sourceName,
                $"has checkpoint format version {root.Version}; ONNX Runtime's training runtime and this reader accept only " +
                $"version {OrtCheckpoint.FormatVersion}. Re-save it with an ONNX Runtime release that writes version {OrtCheckpoint.FormatVersion}.");

        var (trainable, frozen) = root.ModuleState is { } module ? ReadModuleState(module, sourceName) : ([], []);
        var groups = new List<OrtOptimizerGroup>();
        if (root.OptimizerGroups is { } groupVector)
            for (int i = 0; i < groupVector.Count; i++)
                groups.Add(ReadGroup(new OptimizerGroupTable(groupVector.TableAt(i, OptimizerGroupTable.Name)), trainable, sourceName));
        var properties = root.PropertyBag is { } bag ? ReadProperties(bag) : OrtPropertyBag.Empty;
        return new OrtCheckpoint(trainable, frozen, groups, properties);
    }

    static void CheckIdentifier(byte[] bytes, string source)
    {
        if (bytes.Length < HeaderBytes)
            throw new OrtCheckpointException(source,
                $"is {bytes.Length} bytes long, shorter than the 8-byte flatbuffer header (root offset and the file identifier " +
                $"\"{CheckpointTable.FileIdentifier}\") every ONNX Runtime checkpoint starts with.");
        var identifier = bytes.AsSpan(IdentifierOffset, 4);
        if (!identifier.SequenceEqual(Encoding.ASCII.GetBytes(CheckpointTable.FileIdentifier)))
            throw new OrtCheckpointException(source,
                $"has file identifier {Describe(identifier)} at bytes 4–7, not \"{CheckpointTable.FileIdentifier}\": it is not an " +
                "ONNX Runtime training checkpoint.");
    }

    /// <summary>Printable identifiers as text, others as hex.</summary>
    static string Describe(ReadOnlySpan<byte> identifier)
    {
        foreach (byte b in identifier)
            if (b < 0x20 || b > 0x7e)
                return $"0x{Convert.ToHexString(identifier)}";
        return $"\"{Encoding.ASCII.GetString(identifier)}\"";
    }

    static (List<CheckpointTensor> Trainable, List<CheckpointTensor> Frozen) ReadModuleState(ModuleStateTable module, string source)
    {
        if (module.IsNominalState)
            throw new OrtCheckpointException(source,
                "holds a nominal state (parameter names and shapes without values); load the parameters into it with " +
                "ONNX Runtime and save a full checkpoint first.");
        if (module.HasExternalData)
            throw new OrtCheckpointException(source,
                "keeps its tensors in an external data file, which this reader does not read; save the checkpoint with " +
                "its tensors inline.");
        var trainable = module.RequiresGradParams ?? throw module.Missing("requires_grad_params");
        var frozen = module.FrozenParams ?? throw module.Missing("frozen_params");
        return (ReadTensors(trainable, "requires_grad_params", source), ReadTensors(frozen, "frozen_params", source));
    }

    static List<CheckpointTensor> ReadTensors(CheckedVector vector, string field, string source)
    {
        var tensors = new List<CheckpointTensor>(vector.Count);
        for (int i = 0; i < vector.Count; i++)
            tensors.Add(ReadTensor(new TensorTable(vector.TableAt(i, TensorTable.Name)), $"{field}[{i}]", source));
        return tensors;
    }

    static CheckpointTensor ReadTensor(TensorTable tensor, string where, string source)
    {
        string name = tensor.TensorName ?? throw tensor.Missing("name");
        string what = $"tensor '{name}' ({where})";
        if (tensor.ExternalDataOffset >= 0)
            throw new OrtCheckpointException(source,
                $"{what} keeps its values in an external data file (offset {tensor.ExternalDataOffset}), which this reader does not read.");
        if (tensor.DataType != TensorTable.FloatDataType)
            throw new OrtCheckpointException(source,
                $"{what} has data type {DataTypeName(tensor.DataType)}; this reader holds float32 parameters only.");
        long[] dims = (tensor.Dims ?? throw tensor.Missing("dims")).Int64s();
        var raw = (tensor.RawData ?? throw tensor.Missing("raw_data")).Bytes;
        if (dims.Any(d => d < 0))
            throw new OrtCheckpointException(source, $"{what} has a negative dimension in [{string.Join(",", dims)}].");
        long count = dims.Contains(0) ? 0 : 1;
        foreach (long d in count == 0 ? [] : dims)
        {
            // Checked by division first, so forged dims can neither overflow nor ask for more than the bytes present.
            if (count > raw.Length / sizeof(float) / d)
                throw new OrtCheckpointException(source,
                    $"{what} has dims [{string.Join(",", dims)}] that its {raw.Length} bytes of raw_data cannot fill.");
            count *= d;
        }
        if (count * sizeof(float) != raw.Length)
            throw new OrtCheckpointException(source,
                $"{what} has {raw.Length} bytes of raw_data for dims [{string.Join(",", dims)}] ({count} float32 values, {count * sizeof(float)} bytes).");
        return new CheckpointTensor(name, dims, MemoryMarshal.Cast<byte, float>(raw).ToArray());
    }

    static OrtOptimizerGroup ReadGroup(OptimizerGroupTable group, List<CheckpointTensor> trainable, string source)
    {
        string name = group.GroupName ?? throw group.Missing("group_name");
        var states = group.OptimizerStates ?? throw group.Missing("optimizer_states");
        var parameters = trainable.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var moments = new List<ParameterMoments>(states.Count);
        for (int i = 0; i < states.Count; i++)
        {
            var state = new ParameterOptimizerStateTable(states.TableAt(i, ParameterOptimizerStateTable.Name));
            string parameter = state.ParamName ?? throw state.Missing("param_name");
            if (!parameters.TryGetValue(parameter, out var p))
                throw new OrtCheckpointException(source,
                    $"optimizer group '{name}' holds a state for '{parameter}', which is not among the trainable parameters.");
            var tensors = ReadTensors(state.Momentums ?? throw state.Missing("momentums"), $"{name}.{parameter}.momentums", source);
            moments.Add(ReadMoments(tensors, p, $"optimizer group '{name}', parameter '{parameter}'", source));
        }
        return new OrtOptimizerGroup(name, group.Step, group.InitialLearningRate, moments);
    }

    static ParameterMoments ReadMoments(List<CheckpointTensor> tensors, CheckpointTensor parameter, string where, string source)
    {
        string[] found = tensors.Select(t => t.Name).ToArray();
        var first = tensors.SingleOrDefault(t => t.Name == ParameterMoments.FirstMomentName);
        var second = tensors.SingleOrDefault(t => t.Name == ParameterMoments.SecondMomentName);
        if (tensors.Count != 2 || first is null || second is null)
            throw new OrtCheckpointException(source,
                $"{where} holds the optimizer tensors [{string.Join(", ", found)}]; this reader holds AdamW state, " +
                $"exactly [{ParameterMoments.FirstMomentName}, {ParameterMoments.SecondMomentName}].");
        foreach (var moment in tensors)
            if (!moment.Dims.SequenceEqual(parameter.Dims))
                throw new OrtCheckpointException(source,
                    $"{where}: {moment.Name} has dims {moment.DimsText}, the parameter {parameter.DimsText}.");
        return new ParameterMoments(parameter.Name, first.Values, second.Values);
    }

    static OrtPropertyBag ReadProperties(PropertyBagTable bag) =>
        new(ByName(bag.Ints(), "int"), ByName(bag.Floats(), "float"), ByName(bag.Strings(), "string"));

    static Dictionary<string, T> ByName<T>(IEnumerable<(string Name, T Value)> properties, string kind)
    {
        var byName = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var (name, value) in properties)
            if (!byName.TryAdd(name, value))
                throw new ArgumentException($"{kind} property '{name}' appears twice.");
        return byName;
    }

    static string DataTypeName(int type) => type switch
    {
        0 => "UNDEFINED (0)",
        1 => "FLOAT (1)",
        7 => "INT64 (7)",
        8 => "STRING (8)",
        10 => "FLOAT16 (10)",
        11 => "DOUBLE (11)",
        16 => "BFLOAT16 (16)",
        _ => $"{type}",
    };
}
