using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// <c>vblora-run</c> as a child process (the built <c>vblora-run.dll</c> beside the tests, on the same dotnet host),
/// with its output collected, so a test can kill it (SIGKILL) or interrupt it (SIGINT) like a power cut or Ctrl+C.
/// </summary>
sealed class RunnerProcess : IDisposable
{
    const int SigInt = 2;
    const int SigTerm = 15;
    readonly Process _process;
    readonly StringBuilder _output = new();

    RunnerProcess(Process process) => _process = process;

    public static string RunnerDll => Path.Combine(AppContext.BaseDirectory, "vblora-run.dll");

    public static RunnerProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(RunnerDll);
        foreach (string a in args) info.ArgumentList.Add(a);
        var process = new Process { StartInfo = info };
        var runner = new RunnerProcess(process);
        process.OutputDataReceived += (_, e) => runner.Append(e.Data);
        process.ErrorDataReceived += (_, e) => runner.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return runner;
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Waits for the exit; fails the test (after killing the child) when it takes longer than <paramref name="timeout"/>.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"vblora-run did not finish within {timeout.TotalSeconds:F0} s. Output so far:\n{Output}");
        }
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>Waits until the output contains <paramref name="text"/>; false when the process exits first or time runs out.</summary>
    public bool WaitForOutput(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (Output.Contains(text, StringComparison.Ordinal))
                return true;
            if (_process.HasExited)
                return false;
            Thread.Sleep(10);
        }
        return false;
    }

    /// <summary>SIGKILL: the process gets no chance to clean up, as on a power cut.</summary>
    public void Kill()
    {
        try { _process.Kill(); } catch (InvalidOperationException) { /* already exited */ }
        _process.WaitForExit();
    }

    /// <summary>SIGINT, what Ctrl+C sends.</summary>
    public void Interrupt() => Signal(SigInt);

    /// <summary>SIGTERM, what containers, Kubernetes and Slurm send to stop a job.</summary>
    public void Terminate() => Signal(SigTerm);

    void Signal(int signal)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            Assert.Inconclusive("signals are sent on Linux and macOS only");
        Assert.AreEqual(0, SendSignal(_process.Id, signal), "kill(2) failed");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int SendSignal(int pid, int signal);

    void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
