using Google.FlatBuffers;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// The user properties of a checkpoint, one vector of small tables per value type:
/// <code>
/// table IntProperty    { name:string; /* id 0 */ value:int64;  /* id 1 */ }
/// table FloatProperty  { name:string; /* id 0 */ value:float;  /* id 1 */ }
/// table StringProperty { name:string; /* id 0 */ value:string; /* id 1 */ }
/// table PropertyBag {
///   ints:[IntProperty];        // id 0
///   floats:[FloatProperty];    // id 1
///   strings:[StringProperty];  // id 2
/// }
/// </code>
/// ONNX Runtime requires every property to have a name, and a string property to have a value.
/// </summary>
readonly struct PropertyBagTable(CheckedTable table)
{
    public const string Name = "PropertyBag";
    const int IntsId = 0, FloatsId = 1, StringsId = 2, FieldCount = 3;
    const int PropertyNameId = 0, PropertyValueId = 1, PropertyFieldCount = 2;

    public IEnumerable<(string Name, long Value)> Ints() =>
        Read(IntsId, "ints", "IntProperty", p => p.Int64(PropertyValueId, "value", 0));

    public IEnumerable<(string Name, float Value)> Floats() =>
        Read(FloatsId, "floats", "FloatProperty", p => p.Float32(PropertyValueId, "value", 0f));

    public IEnumerable<(string Name, string Value)> Strings() =>
        Read(StringsId, "strings", "StringProperty", p => p.String(PropertyValueId, "value") ?? throw p.Missing("value"));

    IEnumerable<(string, T)> Read<T>(int id, string field, string tableName, Func<CheckedTable, T> value)
    {
        if (table.Vector(id, field, sizeof(uint)) is not { } vector)
            yield break;
        for (int i = 0; i < vector.Count; i++)
        {
            var property = vector.TableAt(i, tableName);
            yield return (property.String(PropertyNameId, "name") ?? throw property.Missing("name"), value(property));
        }
    }

    /// <summary>Writes the bag; each list is written in the order given.</summary>
    public static Offset<PropertyBagTable> Create(
        FlatBufferBuilder builder, IEnumerable<KeyValuePair<string, long>> ints,
        IEnumerable<KeyValuePair<string, float>> floats, IEnumerable<KeyValuePair<string, string>> strings)
    {
        var intOffsets = ints.Select(p => Property(builder, p.Key, b => b.AddLong(PropertyValueId, p.Value, 0))).ToArray();
        var floatOffsets = floats.Select(p => Property(builder, p.Key, b => b.AddFloat(PropertyValueId, p.Value, 0))).ToArray();
        var stringOffsets = strings.Select(p =>
        {
            var value = builder.CreateString(p.Value);
            return Property(builder, p.Key, b => b.AddOffset(PropertyValueId, value.Value, 0));
        }).ToArray();
        var intVector = VectorOf(builder, intOffsets);
        var floatVector = VectorOf(builder, floatOffsets);
        var stringVector = VectorOf(builder, stringOffsets);
        builder.StartTable(FieldCount);
        builder.AddOffset(StringsId, stringVector.Value, 0);
        builder.AddOffset(FloatsId, floatVector.Value, 0);
        builder.AddOffset(IntsId, intVector.Value, 0);
        return new Offset<PropertyBagTable>(builder.EndTable());
    }

    /// <summary>One property table: its name and the value written by <paramref name="addValue"/>.</summary>
    static int Property(FlatBufferBuilder builder, string name, Action<FlatBufferBuilder> addValue)
    {
        var nameOffset = builder.CreateString(name);
        builder.StartTable(PropertyFieldCount);
        addValue(builder);
        builder.AddOffset(PropertyNameId, nameOffset.Value, 0);
        return builder.EndTable();
    }

    static VectorOffset VectorOf(FlatBufferBuilder builder, int[] tables)
    {
        builder.StartVector(sizeof(uint), tables.Length, sizeof(uint));
        for (int i = tables.Length - 1; i >= 0; i--)
            builder.AddOffset(tables[i]);
        return builder.EndVector();
    }
}
