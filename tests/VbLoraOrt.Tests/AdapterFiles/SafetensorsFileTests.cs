using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.AdapterFiles;

[TestClass]
public sealed class SafetensorsFileTests
{
    static string TempPath() => Path.Combine(Directory.CreateTempSubdirectory("vblora-st").FullName, "a.safetensors");

    static SafeTensor[] Sample() =>
    [
        new("bank", "F32", [2, 3], [.. Enumerable.Range(0, 6).SelectMany(i => BitConverter.GetBytes(i * 0.5f))]),
        new("idx", "U8", [4], [3, 1, 4, 1]),
    ];

    [TestMethod]
    public void Write_ThenRead_ReturnsSameTensorsAndMetadata()
    {
        string path = TempPath();
        SafetensorsFile.Write(path, Sample(), new Dictionary<string, string> { ["method"] = "vblora" });

        var (tensors, metadata) = SafetensorsFile.Read(path);

        Assert.AreEqual("vblora", metadata["method"]);
        Assert.AreEqual(2, tensors.Count);
        foreach (var (expected, actual) in Sample().Zip(tensors))
        {
            Assert.AreEqual((expected.Name, expected.DType), (actual.Name, actual.DType));
            CollectionAssert.AreEqual(expected.Shape, actual.Shape);
            CollectionAssert.AreEqual(expected.Data, actual.Data);
        }
    }

    [TestMethod]
    public void Read_WhenTruncated_ThrowsNamingFile()
    {
        string path = TempPath();
        SafetensorsFile.Write(path, Sample());
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^5]);

        var e = Assert.ThrowsExactly<BadInputException>(() => SafetensorsFile.Read(path));
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void Read_WhenHeaderSizeIsHuge_RefusesBeforeAllocating()
    {
        string path = TempPath();
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, (byte)'{', (byte)'}']);

        var e = Assert.ThrowsExactly<BadInputException>(() => SafetensorsFile.Read(path));
        StringAssert.Contains(e.Message, "header");
    }

    [TestMethod]
    public void Read_WhenShapeDisagreesWithOffsets_ThrowsNamingTensor()
    {
        string path = TempPath();
        byte[] header = System.Text.Encoding.UTF8.GetBytes("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. new byte[8]]);

        var e = Assert.ThrowsExactly<BadInputException>(() => SafetensorsFile.Read(path));
        StringAssert.Contains(e.Message, "'t'");
    }
}
