using System.Diagnostics;

namespace VbLoraOrt.Bench;

/// <summary>
/// Runs a program as a child process and measures its wall time and peak resident set size, read from
/// <c>/proc/&lt;pid&gt;/status</c> (<c>VmHWM</c>, the kernel's own high-water mark) every few milliseconds while it runs.
/// </summary>
public static class ChildProcessMeter
{
    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/> to completion.</summary>
    /// <exception cref="InvalidOperationException">The program failed (non-zero exit code; the message carries its error output).</exception>
    public static ChildRun Run(string fileName, IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        string status = $"/proc/{process.Id}/status";
        while (!process.WaitForExit(10))
            peak = Math.Max(peak, ReadHighWaterMark(status));
        process.WaitForExit();
        var wall = clock.Elapsed;
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', arguments)} exited with code {process.ExitCode}: {stderr.Result.Trim()} {stdout.Result.Trim()}");
        return new ChildRun(wall, peak, stdout.Result);
    }

    // VmHWM in bytes; 0 when the process has gone or the file is not there (not Linux).
    static long ReadHighWaterMark(string statusPath)
    {
        try
        {
            foreach (string line in File.ReadLines(statusPath))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0]) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }
}

/// <summary>A finished child process.</summary>
/// <param name="Wall">Wall time from start to exit.</param>
/// <param name="PeakRssBytes">Peak resident set size seen (0 where <c>/proc</c> is not available).</param>
/// <param name="Output">Its standard output.</param>
public sealed record ChildRun(TimeSpan Wall, long PeakRssBytes, string Output);
