using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using VbLoraOrt.Contracts.Checkpoints;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// Runs <c>tests/ort-web/train-steps.mjs</c>: ONNX Runtime's own training runtime (onnxruntime-web 1.19.2's
/// training build) in Node.js. Installs the package with <c>npm ci</c> from the committed lock file the first time,
/// so a clean clone needs only Node.js 20 and npm on PATH.
/// </summary>
static class OrtWebHarness
{
    static readonly Lock InstallLock = new();
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(5), RunTimeout = TimeSpan.FromMinutes(2);

    public static string Folder { get; } = Path.Combine(RepoRoot(), "tests", "ort-web");

    /// <summary>Runs <paramref name="job"/> (files in <paramref name="workDir"/>) and returns what ONNX Runtime reported.</summary>
    public static HarnessResult Run(HarnessJob job, string workDir)
    {
        EnsureInstalled();
        string jobPath = Path.Combine(workDir, "job.json"), resultPath = Path.Combine(workDir, "result.json");
        File.WriteAllText(jobPath, JsonSerializer.Serialize(job, Json));
        var (exit, output) = RunTool("node", [Path.Combine(Folder, "train-steps.mjs"), jobPath, resultPath], Folder, RunTimeout);
        if (exit != 0)
            Assert.Fail($"ONNX Runtime's training runtime failed (node exit code {exit}):\n{output}");
        return JsonSerializer.Deserialize<HarnessResult>(File.ReadAllText(resultPath), Json)
            ?? throw new InvalidDataException($"{resultPath} is empty.");
    }

    static void EnsureInstalled()
    {
        lock (InstallLock)
        {
            if (File.Exists(Path.Combine(Folder, "node_modules", "onnxruntime-web", "package.json")))
                return;
            var (exit, output) = RunTool("npm", ["ci", "--no-audit", "--no-fund"], Folder, InstallTimeout);
            if (exit != 0)
                Assert.Fail($"`npm ci` in {Folder} failed (exit code {exit}); the conformance tests need the npm registry once:\n{output}");
        }
    }

    static (int Exit, string Output) RunTool(string tool, string[] args, string directory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(tool)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) info.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new Win32Exception($"{tool} did not start");
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"`{tool}` could not be started ({e.Message}). The ONNX Runtime conformance tests need Node.js 20 " +
                        "and npm on PATH (Debian: apt-get install nodejs npm).");
            throw;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"`{tool} {string.Join(' ', args)}` did not finish within {timeout.TotalSeconds:F0} s.");
            }
            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VbLoraOrt.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"no VbLoraOrt.sln above {AppContext.BaseDirectory}.");
    }
}

/// <summary>One input tensor of a step, as the harness's JSON carries it: float32, or int64 values carried as floats.</summary>
sealed record FeedTensor(long[] Dims, float[] Data, string Type = "float32");

/// <summary>One training step: the training model's user inputs.</summary>
sealed record HarnessStep(Dictionary<string, FeedTensor> Feeds);

/// <summary>One training session: artifact paths, the steps, and whether to call lazyResetGrad after each.</summary>
sealed record HarnessRun(
    string Name, string TrainModel, string EvalModel, string OptimizerModel, string Checkpoint,
    IReadOnlyList<HarnessStep> Steps, bool LazyResetGrad = true, Dictionary<string, FeedTensor>? EvalFeeds = null);

/// <summary>What <c>train-steps.mjs</c> runs, in one Node.js process.</summary>
sealed record HarnessJob(IReadOnlyList<HarnessRun> Runs);

/// <summary>The loss of one step and all parameters (getContiguousParameters(false)) after its optimizer step.</summary>
sealed record WebStepResult(double Loss, float[] Parameters);

/// <summary>Sizes from getParametersSize(false) and getParametersSize(true).</summary>
sealed record ParametersSize(int All, int Trainable);

/// <summary>What ONNX Runtime's training runtime reported for one run; <see cref="Error"/> when it threw.</summary>
sealed record RunResult(
    string? Error, string[] TrainingInputNames, string[] TrainingOutputNames, string[] EvalInputNames,
    string[] EvalOutputNames, ParametersSize ParametersSize, float[] InitialParameters, WebStepResult[] Steps,
    double? EvalLoss, string CheckpointExport);

/// <summary>The ONNX Runtime version and each run's result, by run name.</summary>
sealed record HarnessResult(string OrtVersion, Dictionary<string, RunResult> Runs);
