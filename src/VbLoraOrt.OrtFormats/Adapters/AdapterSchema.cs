using VbLoraOrt.Onnx;

namespace VbLoraOrt.OrtFormats.Adapters;

/// <summary>
/// ONNX Runtime's adapter schema (<c>adapter_schema.fbs</c>, namespace <c>onnxruntime.adapters</c>), in one place
/// for the writer and the reader:
/// <code>
/// table Parameter { name:string; dims:[int64]; data_type:TensorDataType (int32); raw_data:[uint8] (force_align: 8); }
/// table Adapter   { format_version:int; adapter_version:int; model_version:int; parameters:[Parameter]; }
/// root_type Adapter;  file_identifier "TORT";
/// </code>
/// A field's id is its position in the table; its slot in the vtable is at byte <c>4 + 2 × id</c> (the <c>VT_*</c>
/// constants of the generated C++ header: 4, 6, 8, 10). <c>TensorDataType</c> numbers its types exactly as ONNX's
/// <c>TensorProto.DataType</c> does (FLOAT = 1 … FLOAT8E5M2FNUZ = 20), so ONNX type numbers are stored unchanged.
/// </summary>
static class AdapterSchema
{
    /// <summary>Bytes 4–7 of every adapter file; ONNX Runtime refuses a buffer without it.</summary>
    public const string FileIdentifier = "TORT";

    /// <summary>The only <c>format_version</c> ONNX Runtime 1.31 accepts (<c>kAdapterFormatVersion</c>).</summary>
    public const int FormatVersion = 1;

    /// <summary>Highest <c>TensorDataType</c> value in the schema (FLOAT8E5M2FNUZ).</summary>
    public const int MaxDataType = 20;

    /// <summary>Field ids of <c>table Adapter</c>.</summary>
    public static class AdapterField
    {
        public const int FormatVersion = 0;   // format_version:int, vtable slot 4
        public const int AdapterVersion = 1;  // adapter_version:int, vtable slot 6
        public const int ModelVersion = 2;    // model_version:int, vtable slot 8
        public const int Parameters = 3;      // parameters:[Parameter], vtable slot 10
        public const int Count = 4;
    }

    /// <summary>Field ids of <c>table Parameter</c>.</summary>
    public static class ParameterField
    {
        public const int Name = 0;            // name:string, vtable slot 4
        public const int Dims = 1;            // dims:[int64], vtable slot 6
        public const int DataType = 2;        // data_type:TensorDataType (int32), vtable slot 8
        public const int RawData = 3;         // raw_data:[uint8] (force_align: 8), vtable slot 10
        public const int Count = 4;
    }

    /// <summary>Alignment the schema asks for the start of <c>raw_data</c>.</summary>
    public const int RawDataAlignment = 8;

    /// <summary>
    /// Bytes per element of a type ONNX Runtime 1.31.1 loads as an adapter parameter, or 0 when it refuses the type
    /// ("is not a supported LoRA parameter type", observed for each number): FLOAT, UINT8, INT8, UINT16, INT16, INT32,
    /// INT64, FLOAT16, DOUBLE, UINT32, UINT64, BFLOAT16 and the four FLOAT8 types load; UNDEFINED, STRING, BOOL,
    /// COMPLEX64, COMPLEX128 and numbers past 20 do not.
    /// </summary>
    public static int StorableElementSize(int dataType) =>
        dataType is (>= 1 and <= 7) or (>= 10 and <= 13) or (>= 16 and <= MaxDataType) ? ElementType.SizeOf(dataType) : 0;
}
