using System.Text.Json;

namespace VbLoraOrt.Bench;

/// <summary>
/// Where one session's time went, read from the JSON trace ONNX Runtime writes when profiling is on
/// (<c>SessionOptions.EnableProfiling</c>; one file per session): per node the MEDIAN kernel time over the steady
/// runs, the first runs skipped. The first two runs of a session are cold (the first plans and allocates, the second
/// still grows the memory arena), so they are no measure of a step. Nodes the differentiation emitted are named
/// <c>grad/…</c> (the backward pass); everything else is the forward pass and the loss.
/// </summary>
public sealed class OrtProfile
{
    /// <summary>Prefix of the node names of the backward pass.</summary>
    public const string BackwardPrefix = "grad/";

    OrtProfile(IReadOnlyList<NodeTime> nodes, int runs, double runMicroseconds)
    {
        Nodes = nodes;
        Runs = runs;
        RunMicroseconds = runMicroseconds;
    }

    /// <summary>Every node that ran, with its median kernel time over the counted runs (µs), largest first.</summary>
    public IReadOnlyList<NodeTime> Nodes { get; }

    /// <summary>Runs counted (after the skipped ones).</summary>
    public int Runs { get; }

    /// <summary>Median wall time of the counted runs (<c>model_run</c> events), µs.</summary>
    public double RunMicroseconds { get; }

    /// <summary>True when the session ran backward nodes (it is a training graph).</summary>
    public bool HasBackward => Nodes.Any(n => n.IsBackward);

    /// <summary>Sum of the node medians, µs.</summary>
    public double KernelMicroseconds => Nodes.Sum(n => n.Microseconds);

    /// <summary>Sum of the backward nodes' medians, µs.</summary>
    public double BackwardMicroseconds => Nodes.Where(n => n.IsBackward).Sum(n => n.Microseconds);

    /// <summary>Sum of the other nodes' medians (forward pass and loss), µs.</summary>
    public double ForwardMicroseconds => Nodes.Where(n => !n.IsBackward).Sum(n => n.Microseconds);

    /// <summary>Sum of the matrix products' medians (<see cref="NodeTime.IsMatrixProduct"/>), µs.</summary>
    public double ProductMicroseconds => Nodes.Where(n => n.IsMatrixProduct).Sum(n => n.Microseconds);

    /// <summary>Node medians summed per op type over the nodes <paramref name="where"/> selects (all by default), largest first.</summary>
    public IReadOnlyList<OpTime> Ops(Func<NodeTime, bool>? where = null) =>
        Nodes.Where(where ?? (_ => true)).GroupBy(n => n.OpType, StringComparer.Ordinal)
            .Select(g => new OpTime(g.Key, g.Count(), g.Sum(n => n.Microseconds))).OrderByDescending(o => o.Microseconds).ToList();

    /// <summary>Reads one session's trace file, skipping its first <paramref name="skipRuns"/> runs.</summary>
    /// <exception cref="InvalidDataException">The file is not an ONNX Runtime profile, or has no run past the skipped ones.</exception>
    public static OrtProfile Read(string file, int skipRuns)
    {
        ArgumentNullException.ThrowIfNull(file);
        using var document = JsonDocument.Parse(File.ReadAllBytes(file));
        return Parse(document.RootElement, skipRuns, file);
    }

    /// <summary>Reads a trace already parsed; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="InvalidDataException">Not a JSON array of trace events, or no run past the skipped ones.</exception>
    public static OrtProfile Parse(JsonElement trace, int skipRuns, string source)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skipRuns);
        if (trace.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{source}: not an ONNX Runtime profile (expected a JSON array of trace events).");
        // model_run events are written when a run ends but carry its start time; a node's kernel event belongs to the
        // latest run that started at or before it.
        var runs = trace.EnumerateArray().Where(e => Category(e) == "Session" && Name(e) == "model_run")
            .Select(e => (Start: e.GetProperty("ts").GetDouble(), Duration: e.GetProperty("dur").GetDouble())).OrderBy(r => r.Start).ToList();
        if (runs.Count <= skipRuns)
            throw new InvalidDataException($"{source}: {runs.Count} profiled runs, none left after skipping {skipRuns} warm-up runs.");
        var starts = runs.Select(r => r.Start).ToList();
        int counted = runs.Count - skipRuns;

        var perNode = new Dictionary<string, (string Op, double[] PerRun)>(StringComparer.Ordinal);
        foreach (var e in trace.EnumerateArray())
        {
            if (Category(e) != "Node" || !Name(e).EndsWith("_kernel_time", StringComparison.Ordinal))
                continue;
            int run = RunOf(starts, e.GetProperty("ts").GetDouble()) - skipRuns;
            if (run < 0)
                continue;
            string node = Name(e)[..^"_kernel_time".Length];
            if (!perNode.TryGetValue(node, out var entry))
                perNode[node] = entry = (e.GetProperty("args").GetProperty("op_name").GetString() ?? "?", new double[counted]);
            entry.PerRun[run] += e.GetProperty("dur").GetDouble();
        }
        var nodes = perNode.Select(kv => new NodeTime(kv.Key, kv.Value.Op, SampleSummary.Of(kv.Value.PerRun).Median))
            .OrderByDescending(n => n.Microseconds).ToList();
        return new OrtProfile(nodes, counted, SampleSummary.Of(runs.Skip(skipRuns).Select(r => r.Duration)).Median);
    }

    // Index of the latest run starting at or before `ts` (-1: before every run).
    static int RunOf(List<double> starts, double ts)
    {
        int i = starts.BinarySearch(ts);
        return i >= 0 ? i : ~i - 1;
    }

    static string Category(JsonElement e) => e.TryGetProperty("cat", out var c) ? c.GetString() ?? "" : "";

    static string Name(JsonElement e) => e.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
}

/// <summary>One node's median kernel time over the counted runs.</summary>
/// <param name="Node">Node name after ONNX Runtime's graph optimizations.</param>
/// <param name="OpType">Its op (e.g. <c>FusedMatMul</c>).</param>
/// <param name="Microseconds">Median kernel time per run.</param>
public sealed record NodeTime(string Node, string OpType, double Microseconds)
{
    /// <summary>True for nodes of the backward pass (<see cref="OrtProfile.BackwardPrefix"/>).</summary>
    public bool IsBackward => Node.StartsWith(OrtProfile.BackwardPrefix, StringComparison.Ordinal);

    /// <summary>True for matrix products (MatMul, Gemm and ONNX Runtime's fused forms of them).</summary>
    public bool IsMatrixProduct => OpType.Contains("MatMul", StringComparison.Ordinal) || OpType.Contains("Gemm", StringComparison.Ordinal);
}

/// <summary>Kernel time of one op type per run (sum of its nodes' medians).</summary>
/// <param name="OpType">ONNX Runtime's op name after its graph optimizations (e.g. <c>FusedMatMul</c>).</param>
/// <param name="Nodes">Distinct nodes of this op type that ran.</param>
/// <param name="Microseconds">Summed median kernel time.</param>
public sealed record OpTime(string OpType, int Nodes, double Microseconds);
