using Google.FlatBuffers;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// <code>
/// table ParameterOptimizerState {
///   param_name:string;     // id 0, the trainable parameter these moments belong to
///   momentums:[Tensor];    // id 1, named by ONNX Runtime's optimizer: AdamW keeps "momentum0" and "momentum1"
/// }
/// </code>
/// </summary>
readonly struct ParameterOptimizerStateTable(CheckedTable table)
{
    public const string Name = "ParameterOptimizerState";
    const int ParamNameId = 0, MomentumsId = 1;
    const int FieldCount = 2;

    public string? ParamName => table.String(ParamNameId, "param_name");
    public CheckedVector? Momentums => table.Vector(MomentumsId, "momentums", sizeof(uint));
    public OrtCheckpointException Missing(string field) => table.Missing(field);

    public static Offset<ParameterOptimizerStateTable> Create(FlatBufferBuilder builder, string paramName, Offset<TensorTable>[] momentums)
    {
        var name = builder.CreateString(paramName);
        var vector = builder.CreateVectorOfTables(momentums);
        builder.StartTable(FieldCount);
        builder.AddOffset(MomentumsId, vector.Value, 0);
        builder.AddOffset(ParamNameId, name.Value, 0);
        return new Offset<ParameterOptimizerStateTable>(builder.EndTable());
    }
}
