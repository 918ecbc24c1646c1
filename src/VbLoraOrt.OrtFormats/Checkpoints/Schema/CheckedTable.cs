namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// One flatbuffer table, read the way flatc's generated accessors read it through Google.FlatBuffers' <c>Table</c>
/// (field id → vtable slot → value, absent fields give the schema default), except that every offset is checked
/// against the buffer first. Errors name the table and field as the schema spells them (<c>OptimizerGroup.step</c>).
/// </summary>
/// <remarks>
/// Layout: a table starts with an int32 soffset to its vtable (at table − soffset). The vtable is uint16s:
/// its own size in bytes, the table's size in bytes, then one slot per field id holding the field's offset from the
/// table start (0 = absent). Reference fields (tables, vectors, strings) hold a uint32 offset from the field itself.
/// </remarks>
readonly struct CheckedTable
{
    const int SlotsStart = 4, SlotSize = 2;
    readonly FlatBufferInput _input;
    readonly int _position, _vtable, _vtableSize, _tableSize;
    readonly string _name;

    CheckedTable(FlatBufferInput input, int position, int vtable, int vtableSize, int tableSize, string name)
    {
        (_input, _position, _vtable, _vtableSize, _tableSize, _name) = (input, position, vtable, vtableSize, tableSize, name);
    }

    /// <summary>The table <paramref name="name"/> starting at <paramref name="position"/>, its vtable checked.</summary>
    public static CheckedTable At(FlatBufferInput input, int position, string name)
    {
        input.Require(position, sizeof(int), $"the {name} table");
        int soffset = input.Buffer.GetInt(position);
        long vtable = position - (long)soffset;
        input.Require(vtable, SlotsStart, $"the vtable of the {name} table");
        int vtableSize = input.Buffer.GetUshort((int)vtable);
        int tableSize = input.Buffer.GetUshort((int)vtable + SlotSize);
        if (vtableSize < SlotsStart || vtableSize % SlotSize != 0)
            throw input.Malformed(vtable, $"the vtable of the {name} table declares an impossible size of {vtableSize} bytes");
        input.Require(vtable, vtableSize, $"the vtable of the {name} table");
        if (tableSize < sizeof(int))
            throw input.Malformed(vtable, $"the {name} table declares an impossible size of {tableSize} bytes");
        input.Require(position, tableSize, $"the {name} table");
        return new CheckedTable(input, position, (int)vtable, vtableSize, tableSize, name);
    }

    /// <summary>The root table of the buffer (its uint32 offset is the buffer's first 4 bytes).</summary>
    public static CheckedTable Root(FlatBufferInput input, string name)
    {
        input.Require(0, sizeof(uint), $"the offset of the root {name} table");
        return At(input, input.Indirect(0, $"the root {name} offset"), name);
    }

    /// <summary>Byte position of field <paramref name="id"/> of <paramref name="size"/> bytes, or −1 when absent.</summary>
    int Field(int id, int size, string field)
    {
        int slot = SlotsStart + id * SlotSize;
        if (slot + SlotSize > _vtableSize)
            return -1;
        int relative = _input.Buffer.GetUshort(_vtable + slot);
        if (relative == 0)
            return -1;
        if (relative < sizeof(int) || relative + size > _tableSize)
            throw _input.Malformed(_vtable + slot,
                $"{_name}.{field} is placed at offset {relative} of its table, outside the table's {_tableSize} bytes");
        return _position + relative;
    }

    public int Int32(int id, string field, int defaultValue) =>
        Field(id, sizeof(int), field) is var at and >= 0 ? _input.Buffer.GetInt(at) : defaultValue;

    public long Int64(int id, string field, long defaultValue) =>
        Field(id, sizeof(long), field) is var at and >= 0 ? _input.Buffer.GetLong(at) : defaultValue;

    public float Float32(int id, string field, float defaultValue) =>
        Field(id, sizeof(float), field) is var at and >= 0 ? _input.Buffer.GetFloat(at) : defaultValue;

    public bool Bool(int id, string field) =>
        Field(id, sizeof(byte), field) is var at and >= 0 && _input.Buffer.Get(at) != 0;

    /// <summary>A string field, or null when absent.</summary>
    public string? String(int id, string field) =>
        Field(id, sizeof(uint), field) is var at and >= 0
            ? _input.String(_input.Indirect(at, $"{_name}.{field}"), $"{_name}.{field}")
            : null;

    /// <summary>A table field, or null when absent.</summary>
    public CheckedTable? Table(int id, string field, string tableName) =>
        Field(id, sizeof(uint), field) is var at and >= 0
            ? At(_input, _input.Indirect(at, $"{_name}.{field}"), tableName)
            : null;

    /// <summary>A vector field of <paramref name="elementSize"/>-byte elements, or null when absent.</summary>
    public CheckedVector? Vector(int id, string field, int elementSize)
    {
        int at = Field(id, sizeof(uint), field);
        if (at < 0)
            return null;
        string what = $"{_name}.{field}";
        int start = _input.Indirect(at, what);
        int count = _input.VectorCount(start, elementSize, what);
        return new CheckedVector(_input, start + sizeof(uint), count, elementSize, what);
    }

    /// <summary>Throws naming <c>Table.field</c> as missing; for fields ONNX Runtime requires.</summary>
    public OrtCheckpointException Missing(string field) =>
        _input.Malformed(_position, $"{_name}.{field} is missing; ONNX Runtime requires it");
}
