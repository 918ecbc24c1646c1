using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace VbLoraOrt.Bench;

/// <summary>The machine a benchmark ran on.</summary>
/// <param name="Cpu">CPU model name (<c>/proc/cpuinfo</c>), or the architecture when unknown.</param>
/// <param name="LogicalCores">Logical cores this process may use.</param>
/// <param name="OrtVersion">ONNX Runtime native library version.</param>
/// <param name="Runtime">.NET runtime and OS.</param>
/// <param name="LoadAverage">1-minute load average at the start (<c>/proc/loadavg</c>), when known: how shared the machine was.</param>
public sealed record MachineInfo(string Cpu, int LogicalCores, string OrtVersion, string Runtime, double? LoadAverage)
{
    /// <summary>Describes this machine.</summary>
    public static MachineInfo Current() => new(
        CpuModel() ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount,
        OrtEnv.Instance().GetVersionString(),
        $"{RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}",
        ReadLoadAverage());

    static string? CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;

    static double? ReadLoadAverage() =>
        File.Exists("/proc/loadavg") && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0],
            System.Globalization.CultureInfo.InvariantCulture, out double load) ? load : null;
}
