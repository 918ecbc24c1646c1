using Google.FlatBuffers;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// <code>
/// table OptimizerGroup {
///   group_name:string;                           // id 0, ONNX Runtime's optimizer reads only "group0"
///   step:int64;                                  // id 1, default 0: optimizer steps already taken
///   initial_learning_rate:float;                 // id 2, default 0
///   optimizer_states:[ParameterOptimizerState];  // id 3
/// }
/// </code>
/// </summary>
readonly struct OptimizerGroupTable(CheckedTable table)
{
    public const string Name = "OptimizerGroup";
    const int GroupNameId = 0, StepId = 1, InitialLearningRateId = 2, OptimizerStatesId = 3;
    const int FieldCount = 4;

    public string? GroupName => table.String(GroupNameId, "group_name");
    public long Step => table.Int64(StepId, "step", 0);
    public float InitialLearningRate => table.Float32(InitialLearningRateId, "initial_learning_rate", 0f);
    public CheckedVector? OptimizerStates => table.Vector(OptimizerStatesId, "optimizer_states", sizeof(uint));
    public OrtCheckpointException Missing(string field) => table.Missing(field);

    public static Offset<OptimizerGroupTable> Create(
        FlatBufferBuilder builder, string groupName, long step, float initialLearningRate,
        Offset<ParameterOptimizerStateTable>[] optimizerStates)
    {
        var name = builder.CreateString(groupName);
        var states = builder.CreateVectorOfTables(optimizerStates);
        builder.StartTable(FieldCount);
        builder.AddLong(StepId, step, 0);
        builder.AddOffset(OptimizerStatesId, states.Value, 0);
        builder.AddFloat(InitialLearningRateId, initialLearningRate, 0);
        builder.AddOffset(GroupNameId, name.Value, 0);
        return new Offset<OptimizerGroupTable>(builder.EndTable());
    }
}
