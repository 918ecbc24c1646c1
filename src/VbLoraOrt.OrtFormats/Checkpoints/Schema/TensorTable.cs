using Google.FlatBuffers;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// ONNX Runtime's <c>Tensor</c> table (its <c>ort.fbs</c>, shared by ORT-format models and training checkpoints):
/// <code>
/// table Tensor {
///   name:string;                       // id 0
///   doc_string:string;                 // id 1
///   dims:[int64];                      // id 2
///   data_type:TensorDataType;          // id 3, int32, default UNDEFINED (0); FLOAT = 1
///   raw_data:[uint8];                  // id 4, little-endian element bytes
///   string_data:[string];              // id 5, string tensors only
///   external_data_offset:int64 = -1;   // id 6, ≥ 0 when the bytes live in a separate file
/// }
/// </code>
/// </summary>
readonly struct TensorTable(CheckedTable table)
{
    public const string Name = "Tensor";
    public const int FloatDataType = 1;
    const int NameId = 0, DimsId = 2, DataTypeId = 3, RawDataId = 4, ExternalDataOffsetId = 6;
    const int FieldCount = 7;

    public string? TensorName => table.String(NameId, "name");
    public CheckedVector? Dims => table.Vector(DimsId, "dims", sizeof(long));
    public int DataType => table.Int32(DataTypeId, "data_type", 0);
    public CheckedVector? RawData => table.Vector(RawDataId, "raw_data", sizeof(byte));
    public long ExternalDataOffset => table.Int64(ExternalDataOffsetId, "external_data_offset", -1);
    public OrtCheckpointException Missing(string field) => table.Missing(field);

    /// <summary>Writes a float32 tensor with its bytes inline (no external data).</summary>
    public static Offset<TensorTable> CreateFloat(FlatBufferBuilder builder, string name, IReadOnlyList<long> dims, float[] values)
    {
        var nameOffset = builder.CreateString(name);
        builder.StartVector(sizeof(long), dims.Count, sizeof(long));
        for (int i = dims.Count - 1; i >= 0; i--)
            builder.AddLong(dims[i]);
        var dimsOffset = builder.EndVector();
        // A [uint8] vector aligned to 4 so a reader can view the floats in place.
        builder.StartVector(sizeof(byte), values.Length * sizeof(float), sizeof(float));
        if (values.Length > 0)
            builder.Add(values);
        var rawOffset = builder.EndVector();

        builder.StartTable(FieldCount);
        builder.AddOffset(RawDataId, rawOffset.Value, 0);
        builder.AddInt(DataTypeId, FloatDataType, 0);
        builder.AddOffset(DimsId, dimsOffset.Value, 0);
        builder.AddOffset(NameId, nameOffset.Value, 0);
        return new Offset<TensorTable>(builder.EndTable());
    }
}
