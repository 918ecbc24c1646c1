using Google.FlatBuffers;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// <code>
/// table ModuleState {
///   requires_grad_params:[Tensor];   // id 0, trainable parameters
///   frozen_params:[Tensor];          // id 1, parameters without gradients
///   is_nominal_state:bool;           // id 2, tensors carry names and shapes but no data
///   has_external_data:bool;          // id 3, tensor bytes live in a separate file
/// }
/// </code>
/// ONNX Runtime refuses a module state whose <c>requires_grad_params</c> or <c>frozen_params</c> is absent, so both
/// are always written, empty if need be.
/// </summary>
readonly struct ModuleStateTable(CheckedTable table)
{
    public const string Name = "ModuleState";
    const int RequiresGradParamsId = 0, FrozenParamsId = 1, IsNominalStateId = 2, HasExternalDataId = 3;
    const int FieldCount = 4;

    public CheckedVector? RequiresGradParams => table.Vector(RequiresGradParamsId, "requires_grad_params", sizeof(uint));
    public CheckedVector? FrozenParams => table.Vector(FrozenParamsId, "frozen_params", sizeof(uint));
    public bool IsNominalState => table.Bool(IsNominalStateId, "is_nominal_state");
    public bool HasExternalData => table.Bool(HasExternalDataId, "has_external_data");
    public OrtCheckpointException Missing(string field) => table.Missing(field);

    public static Offset<ModuleStateTable> Create(
        FlatBufferBuilder builder, Offset<TensorTable>[] requiresGradParams, Offset<TensorTable>[] frozenParams)
    {
        var trainable = builder.CreateVectorOfTables(requiresGradParams);
        var frozen = builder.CreateVectorOfTables(frozenParams);
        builder.StartTable(FieldCount);
        builder.AddOffset(FrozenParamsId, frozen.Value, 0);
        builder.AddOffset(RequiresGradParamsId, trainable.Value, 0);
        return new Offset<ModuleStateTable>(builder.EndTable());
    }
}
