using System.Runtime.InteropServices;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Methods.VbLora;

/// <summary>
/// A trained VB-LoRA vector bank <c>[h, b]</c> frozen and shared by further adapters (DESIGN.md §7.2):
/// those train only their logits (and head), and their files store only top-k indices and weights, naming the bank
/// by <see cref="Sha256"/>. Read from any safetensors file holding PEFT's key <c>base_model.vblora_vector_bank</c>
/// (an adapter file of a VB-LoRA run, a PEFT <c>adapter_model.safetensors</c>, or the <see cref="FileName"/> an
/// artifact folder keeps).
/// </summary>
public sealed class SharedBank
{
    /// <summary>The file an artifact folder prepared with a frozen bank keeps it in.</summary>
    public const string FileName = "shared_bank.safetensors";

    SharedBank(float[] values, int numVectors, int vectorLength)
    {
        Values = values;
        NumVectors = numVectors;
        VectorLength = vectorLength;
        Sha256 = HashOf(values);
    }

    /// <summary>The bank, row-major <c>[h, b]</c>.</summary>
    public float[] Values { get; }

    /// <summary>h: vectors in the bank.</summary>
    public int NumVectors { get; }

    /// <summary>b: length of a bank vector.</summary>
    public int VectorLength { get; }

    /// <summary>SHA-256 (lower-case hex) of the bank's float32 little-endian bytes: the name adapters record.</summary>
    public string Sha256 { get; }

    /// <summary>A bank of <paramref name="values"/> <c>[numVectors, vectorLength]</c>.</summary>
    /// <exception cref="ArgumentException">The values do not fill the shape, or one is not finite.</exception>
    public static SharedBank Of(float[] values, int numVectors, int vectorLength)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.LongLength != (long)numVectors * vectorLength)
            throw new ArgumentException($"a [{numVectors}, {vectorLength}] bank needs {(long)numVectors * vectorLength} values, not {values.LongLength}.", nameof(values));
        if (Array.FindIndex(values, v => !float.IsFinite(v)) is var bad and >= 0)
            throw new ArgumentException($"bank value {bad} is not finite ({values[bad]}).", nameof(values));
        return new SharedBank((float[])values.Clone(), numVectors, vectorLength);
    }

    /// <summary>The bank stored in <paramref name="path"/> under <see cref="VbLoraNames.StoredVectorBank"/> (other tensors are ignored).</summary>
    /// <exception cref="BadInputException">The file is missing or malformed, holds no bank (an adapter trained against a
    /// shared bank stores none), or its bank is not a finite F32 matrix.</exception>
    public static SharedBank Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new BadInputException($"{path}: bank file not found; give an adapter file of a trained VB-LoRA run (.safetensors) or an artifact folder's {FileName}.");
        var (tensors, _) = SafetensorsFile.Read(path);
        var tensor = tensors.FirstOrDefault(t => t.Name == VbLoraNames.StoredVectorBank)
            ?? throw new BadInputException(
                $"{path}: holds no vector bank '{VbLoraNames.StoredVectorBank}' (an adapter trained against a shared bank stores none); " +
                $"give the adapter file of the run that trained the bank, or the {FileName} of an artifact folder prepared with it.");
        if (tensor.DType != "F32" || tensor.Shape.Length != 2 || tensor.Shape.Any(d => d < 1 || d > int.MaxValue))
            throw new BadInputException($"{path}: '{VbLoraNames.StoredVectorBank}' is {tensor.DType} [{string.Join(",", tensor.Shape)}], expected an F32 matrix [num_vectors, vector_length].");
        var stored = new StoredTensors(path, [tensor]);
        float[] values = stored.TakeFiniteFloats(tensor.Name, tensor.Shape);
        return new SharedBank(values, (int)tensor.Shape[0], (int)tensor.Shape[1]);
    }

    /// <summary>Writes the bank to <paramref name="path"/> (atomically), under the key <see cref="Read"/> takes.</summary>
    public void Write(string path) =>
        SafetensorsFile.Write(path, [SafeTensor.F32(VbLoraNames.StoredVectorBank, [NumVectors, VectorLength], Values)],
            new Dictionary<string, string> { ["format"] = "pt", ["vblora_ort.shared_bank_sha256"] = Sha256 });

    /// <summary>The SHA-256 that names a bank of <paramref name="values"/>.</summary>
    public static string HashOf(ReadOnlySpan<float> values) =>
        BitConverter.IsLittleEndian
            ? Hashing.Sha256Hex(MemoryMarshal.AsBytes(values))
            : throw new PlatformNotSupportedException("bank hashes are defined on little-endian bytes.");

    /// <summary>The first 12 hex digits, for messages.</summary>
    public static string Short(string sha256) => sha256.Length > 12 ? sha256[..12] + "…" : sha256;
}
