using Google.FlatBuffers;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// The root of ONNX Runtime's on-device training checkpoint (its <c>ort_training_checkpoint.fbs</c>):
/// <code>
/// table Checkpoint {
///   version:int32;                        // id 0, default 0; ONNX Runtime accepts only its own version (2)
///   module_state:ModuleState;             // id 1
///   optimizer_groups:[OptimizerGroup];    // id 2
///   property_bag:PropertyBag;             // id 3
/// }
/// root_type Checkpoint;
/// file_identifier "ODTC";                 // bytes 4–7 of the buffer
/// </code>
/// </summary>
readonly struct CheckpointTable(CheckedTable table)
{
    public const string Name = "Checkpoint";
    public const string FileIdentifier = "ODTC";
    const int VersionId = 0, ModuleStateId = 1, OptimizerGroupsId = 2, PropertyBagId = 3;
    const int FieldCount = 4;

    public static CheckpointTable GetRoot(FlatBufferInput input) => new(CheckedTable.Root(input, Name));

    public int Version => table.Int32(VersionId, "version", 0);
    public ModuleStateTable? ModuleState =>
        table.Table(ModuleStateId, "module_state", ModuleStateTable.Name) is { } t ? new ModuleStateTable(t) : null;
    public CheckedVector? OptimizerGroups => table.Vector(OptimizerGroupsId, "optimizer_groups", sizeof(uint));
    public PropertyBagTable? PropertyBag =>
        table.Table(PropertyBagId, "property_bag", PropertyBagTable.Name) is { } t ? new PropertyBagTable(t) : null;

    /// <summary>Writes the root table and finishes the buffer with the "ODTC" identifier.</summary>
    public static void Finish(
        FlatBufferBuilder builder, int version, Offset<ModuleStateTable> moduleState,
        Offset<OptimizerGroupTable>[] optimizerGroups, Offset<PropertyBagTable>? propertyBag)
    {
        var groups = builder.CreateVectorOfTables(optimizerGroups);
        builder.StartTable(FieldCount);
        if (propertyBag is { } bag)
            builder.AddOffset(PropertyBagId, bag.Value, 0);
        builder.AddOffset(OptimizerGroupsId, groups.Value, 0);
        builder.AddOffset(ModuleStateId, moduleState.Value, 0);
        builder.AddInt(VersionId, version, 0);
        builder.Finish(builder.EndTable(), FileIdentifier);
    }
}
