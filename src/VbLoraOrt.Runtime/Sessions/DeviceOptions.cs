using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Sessions;

/// <summary>How <see cref="DeviceSessions"/> configures ONNX Runtime.</summary>
public sealed class DeviceOptions
{
    /// <summary>Execution provider. Default <see cref="ExecutionDevice.Cpu"/>.</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>CUDA device ordinal. Default 0.</summary>
    public int DeviceId { get; init; }

    /// <summary>Intra-op threads per session; 0 lets ONNX Runtime pick (one per physical core). Default 0.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// When set, every session profiles its runs (ONNX Runtime's <c>EnableProfiling</c>) and writes a JSON trace named
    /// <c>&lt;prefix&gt;_&lt;timestamp&gt;.json</c> when it is disposed. Default null (off): profiling costs time.
    /// </summary>
    public string? ProfileFilePrefix { get; init; }

    /// <summary>Parses a <c>--device</c> value: <c>cpu</c> or <c>cuda</c> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Any other value; the message lists the accepted ones.</exception>
    public static ExecutionDevice ParseDevice(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "cpu" => ExecutionDevice.Cpu,
            "cuda" or "gpu" => ExecutionDevice.Cuda,
            _ => throw new UsageException($"--device '{text}' is not known; use cpu or cuda."),
        };
    }

    /// <summary>Throws naming the first invalid value.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Device))
            throw new ArgumentOutOfRangeException(nameof(Device), Device, "unknown execution device.");
        ArgumentOutOfRangeException.ThrowIfNegative(DeviceId);
        ArgumentOutOfRangeException.ThrowIfNegative(IntraOpThreads);
    }
}
