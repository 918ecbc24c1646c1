using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Runtime;

[TestClass]
public sealed class DeviceSessionsTests
{
    [TestMethod]
    public void Open_WhenCudaAskedWithoutCudaProvider_ThrowsTellingHowToGetIt()
    {
        if (OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
            Assert.Inconclusive("this build has the CUDA provider; the refusal path cannot be observed here.");

        var error = Assert.ThrowsExactly<DeviceUnavailableException>(() => DeviceSessions.Open(new DeviceOptions { Device = ExecutionDevice.Cuda }));

        StringAssert.StartsWith(error.Message, "CUDA execution provider is not available in this build/machine: ");
        StringAssert.Contains(error.Message, "CPUExecutionProvider");
        StringAssert.Contains(error.Message, "build with -p:VbLoraGpu=true on a machine with CUDA 13 and cuDNN 9 (what ONNX Runtime 1.31's GPU package links against), or use --device cpu");
    }

    [TestMethod]
    public void UploadThenDownload_RoundTripsValuesBitwise()
    {
        using var device = DeviceSessions.Open();
        float[] values = [.. TinyModels.Random(12, 5), float.Epsilon, -0f, float.MaxValue];
        using var tensor = device.AllocateFloat([3, 5]);

        device.Upload(values, tensor);

        CollectionAssert.AreEqual(values, device.Download(tensor));
    }

    [TestMethod]
    public void Upload_WhenCountDoesNotFillShape_ThrowsNamingShape()
    {
        using var device = DeviceSessions.Open();
        using var tensor = device.AllocateFloat([2, 2]);

        var error = Assert.ThrowsExactly<ArgumentException>(() => device.Upload([1f, 2f, 3f], tensor));

        StringAssert.Contains(error.Message, "shape [2,2]");
    }

    [TestMethod]
    [DataRow("cpu", ExecutionDevice.Cpu)]
    [DataRow("CUDA", ExecutionDevice.Cuda)]
    public void ParseDevice_AcceptsKnownNames(string text, ExecutionDevice expected) =>
        Assert.AreEqual(expected, DeviceOptions.ParseDevice(text));

    [TestMethod]
    public void ParseDevice_WhenUnknown_ThrowsListingChoices()
    {
        var error = Assert.ThrowsExactly<UsageException>(() => DeviceOptions.ParseDevice("tpu"));
        StringAssert.Contains(error.Message, "--device 'tpu' is not known; use cpu or cuda");
    }
}
