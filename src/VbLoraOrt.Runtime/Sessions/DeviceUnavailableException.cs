using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Sessions;

/// <summary>The requested execution device cannot be used with this build or on this machine.</summary>
public sealed class DeviceUnavailableException : VbLoraOrt.Onnx.BadInputException
{
    /// <summary>Creates the error for <paramref name="device"/>; <paramref name="reason"/> says what was missing.</summary>
    public DeviceUnavailableException(ExecutionDevice device, string reason, Exception? inner = null)
        : base(Describe(device, reason), inner)
    {
        Device = device;
    }

    /// <summary>The device that was asked for.</summary>
    public ExecutionDevice Device { get; }

    static string Describe(ExecutionDevice device, string reason) => device == ExecutionDevice.Cuda
        ? $"CUDA execution provider is not available in this build/machine: {reason}; " +
          "build with -p:VbLoraGpu=true on a machine with CUDA 13 and cuDNN 9 (what ONNX Runtime 1.31's GPU package links against), or use --device cpu"
        : $"{device} execution device is not available: {reason}";
}
