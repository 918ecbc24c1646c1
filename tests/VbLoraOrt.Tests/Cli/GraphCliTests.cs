using System.Text.Json;
using VbLoraOrt.Cli;
using VbLoraOrt.GraphBuilder.Cli;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Cli;

[TestClass]
public sealed class GraphCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = GraphCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    static string TempFile(string name, byte[] content)
    {
        string dir = Path.Combine(Path.GetTempPath(), "vblora-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    [TestMethod]
    public void Inspect_OnMiniLM_ListsAll37AndQueryValueSelects12()
    {
        var all = Run("inspect", "--model", RealModel.ModelPath, "--json");
        var selected = Run("inspect", "--model", RealModel.ModelPath, "--targets", "query,value", "--json");

        Assert.AreEqual(ExitCodes.Ok, all.Code, all.Err);
        Assert.AreEqual(37, JsonDocument.Parse(all.Out).RootElement.GetProperty("count").GetInt32());
        Assert.AreEqual(ExitCodes.Ok, selected.Code, selected.Err);
        var modules = JsonDocument.Parse(selected.Out).RootElement.GetProperty("modules").EnumerateArray().ToList();
        Assert.AreEqual(12, modules.Count);
        Assert.IsTrue(modules.All(m => m.GetProperty("path").GetString()!.EndsWith(".query") || m.GetProperty("path").GetString()!.EndsWith(".value")));
        Assert.AreEqual("biasName", modules[0].GetProperty("pathSource").GetString());
    }

    [TestMethod]
    public void Inspect_TableMarksInferredPaths()
    {
        var result = Run("inspect", "--model", RealModel.ModelPath, "--targets", "pooler.dense,layer.0.attention.self.query");

        Assert.AreEqual(ExitCodes.Ok, result.Code, result.Err);
        StringAssert.Contains(result.Out, "encoder.layer.0.attention.self.query *");
        StringAssert.Contains(result.Out, "path inferred");
        StringAssert.Contains(result.Out, "Gemm (W^T)");
    }

    [TestMethod]
    public void Inspect_WhenTruncatedModel_ExitsBadInputWithOneLineNamingFile()
    {
        byte[] head = new byte[4096];
        using (var f = File.OpenRead(RealModel.ModelPath)) f.ReadExactly(head);
        string path = TempFile("truncated.onnx", head);

        var result = Run("inspect", "--model", path);

        Assert.AreEqual(ExitCodes.BadInput, result.Code);
        AssertOneLineNaming(result.Err, path);
    }

    [TestMethod]
    public void Inspect_WhenNotOnnx_ExitsBadInput()
    {
        string path = TempFile("readme.onnx", "# not a model\n"u8.ToArray());

        var result = Run("inspect", "--model", path);

        Assert.AreEqual(ExitCodes.BadInput, result.Code);
        AssertOneLineNaming(result.Err, path);
    }

    [TestMethod]
    public void Inspect_WhenFileMissing_ExitsBadInput()
    {
        var result = Run("inspect", "--model", "/nonexistent/model.onnx");

        Assert.AreEqual(ExitCodes.BadInput, result.Code);
        AssertOneLineNaming(result.Err, "/nonexistent/model.onnx");
    }

    [TestMethod]
    public void Inspect_WhenTargetsMatchNothing_ExitsBadInputListingModules()
    {
        var result = Run("inspect", "--model", RealModel.ModelPath, "--targets", "qkv_proj");

        Assert.AreEqual(ExitCodes.BadInput, result.Code);
        AssertOneLineNaming(result.Err, "qkv_proj");
        StringAssert.Contains(result.Err, "encoder.layer.5.output.dense");
    }

    [TestMethod]
    public void Inspect_WhenModelOptionMissing_ExitsUsage()
    {
        var result = Run("inspect");

        Assert.AreEqual(ExitCodes.Usage, result.Code);
        StringAssert.Contains(result.Err, "--model");
    }

    static void AssertOneLineNaming(string stderr, string name)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(1, lines.Length, $"expected one line, got: {stderr}");
        StringAssert.Contains(lines[0], name);
        Assert.IsFalse(stderr.Contains("   at "), "no stack trace");
    }
}
