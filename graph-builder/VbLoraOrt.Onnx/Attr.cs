using Google.Protobuf;
using Onnx;

namespace VbLoraOrt.Onnx;

/// <summary>Attribute constructors and readers for <see cref="NodeProto"/>s.</summary>
public static class Attr
{
    /// <summary>An INT attribute.</summary>
    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>A FLOAT attribute.</summary>
    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A STRING attribute.</summary>
    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>An INTS attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A TENSOR attribute.</summary>
    public static AttributeProto Tensor(string name, TensorProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };

    /// <summary>A GRAPH attribute (an <c>If</c> branch, a <c>Loop</c> body).</summary>
    public static AttributeProto Graph(string name, GraphProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = value };

    /// <summary>The attribute called <paramref name="name"/>, or null.</summary>
    public static AttributeProto? Find(NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name);

    /// <summary>An INT attribute's value, or <paramref name="fallback"/> when absent.</summary>
    public static long GetInt(NodeProto node, string name, long fallback) => Find(node, name)?.I ?? fallback;

    /// <summary>A FLOAT attribute's value, or <paramref name="fallback"/> when absent.</summary>
    public static float GetFloat(NodeProto node, string name, float fallback) => Find(node, name)?.F ?? fallback;

    /// <summary>An INTS attribute's values, or null when absent.</summary>
    public static long[]? GetInts(NodeProto node, string name) => Find(node, name)?.Ints.ToArray();

    /// <summary>A STRING attribute's value, or <paramref name="fallback"/> when absent.</summary>
    public static string GetString(NodeProto node, string name, string fallback) =>
        Find(node, name) is { } a ? a.S.ToStringUtf8() : fallback;
}
