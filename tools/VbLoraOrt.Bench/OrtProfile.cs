using System.Text.Json;

namespace VbLoraOrt.Bench;

/// <summary>
/// Where a session's time went, read from the JSON trace ONNX Runtime writes when profiling is on
/// (<c>SessionOptions.EnableProfiling</c>): kernel time per op type, and per pass (nodes the differentiation
/// emitted are named <c>grad/…</c>; everything else is the forward pass and the loss).
/// </summary>
public sealed class OrtProfile
{
    /// <summary>Prefix of the node names of the backward pass.</summary>
    public const string BackwardPrefix = "grad/";

    OrtProfile(IReadOnlyList<OpTime> ops, double runMicroseconds, int runs, double backwardMicroseconds, double forwardMicroseconds)
    {
        Ops = ops;
        RunMicroseconds = runMicroseconds;
        Runs = runs;
        BackwardMicroseconds = backwardMicroseconds;
        ForwardMicroseconds = forwardMicroseconds;
    }

    /// <summary>Kernel time per op type, largest first.</summary>
    public IReadOnlyList<OpTime> Ops { get; }

    /// <summary>Total time of the profiled runs (<c>model_run</c> events), µs.</summary>
    public double RunMicroseconds { get; }

    /// <summary>Profiled runs.</summary>
    public int Runs { get; }

    /// <summary>Total kernel time, µs.</summary>
    public double KernelMicroseconds => Ops.Sum(o => o.Microseconds);

    /// <summary>Kernel time of backward nodes (<see cref="BackwardPrefix"/>), µs.</summary>
    public double BackwardMicroseconds { get; }

    /// <summary>
    /// Kernel time of the other nodes of the sessions that ran backward nodes (the training graph's forward pass and
    /// loss), µs; sessions without backward nodes (the optimizer) are not counted.
    /// </summary>
    public double ForwardMicroseconds { get; }

    /// <summary>Reads and merges profile files, skipping the first <paramref name="skipRuns"/> runs of each (warm-up).</summary>
    /// <exception cref="InvalidDataException">A file is not an ONNX Runtime profile.</exception>
    public static OrtProfile Read(IEnumerable<string> files, int skipRuns = 0)
    {
        ArgumentNullException.ThrowIfNull(files);
        var byOp = new Dictionary<string, (double Us, HashSet<string> Nodes)>(StringComparer.Ordinal);
        double runUs = 0, backwardUs = 0, forwardUs = 0;
        int runs = 0;
        foreach (string file in files)
        {
            double fileBackwardUs = 0, fileOtherUs = 0;
            using var document = JsonDocument.Parse(File.ReadAllBytes(file));
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{file}: not an ONNX Runtime profile (expected a JSON array of trace events).");
            // Events are in time order; a node's kernel events belong to the latest model_run that started before them.
            var runStarts = document.RootElement.EnumerateArray()
                .Where(e => Category(e) == "Session" && Name(e) == "model_run").Select(e => e.GetProperty("ts").GetDouble()).Order().ToList();
            double firstCounted = runStarts.Count > skipRuns ? runStarts[skipRuns] : double.MaxValue;
            foreach (var e in document.RootElement.EnumerateArray())
            {
                double ts = e.TryGetProperty("ts", out var t) ? t.GetDouble() : 0;
                if (Category(e) == "Session" && Name(e) == "model_run")
                {
                    if (ts < firstCounted) continue;
                    runUs += e.GetProperty("dur").GetDouble();
                    runs++;
                }
                else if (Category(e) == "Node" && Name(e).EndsWith("_kernel_time", StringComparison.Ordinal) && ts >= firstCounted)
                {
                    string op = e.GetProperty("args").GetProperty("op_name").GetString() ?? "?";
                    string node = Name(e)[..^"_kernel_time".Length];
                    double us = e.GetProperty("dur").GetDouble();
                    var entry = byOp.TryGetValue(op, out var x) ? x : (0, new HashSet<string>(StringComparer.Ordinal));
                    entry.Nodes.Add(node);
                    byOp[op] = (entry.Us + us, entry.Nodes);
                    if (node.StartsWith(BackwardPrefix, StringComparison.Ordinal))
                        fileBackwardUs += us;
                    else
                        fileOtherUs += us;
                }
            }
            backwardUs += fileBackwardUs;
            if (fileBackwardUs > 0)
                forwardUs += fileOtherUs;
        }
        var ops = byOp.Select(kv => new OpTime(kv.Key, kv.Value.Nodes.Count, kv.Value.Us)).OrderByDescending(o => o.Microseconds).ToList();
        return new OrtProfile(ops, runUs, runs, backwardUs, forwardUs);
    }

    static string Category(JsonElement e) => e.TryGetProperty("cat", out var c) ? c.GetString() ?? "" : "";

    static string Name(JsonElement e) => e.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
}

/// <summary>Kernel time of one op type over the profiled runs.</summary>
/// <param name="OpType">ONNX Runtime's op name after its graph optimizations (e.g. <c>FusedMatMul</c>).</param>
/// <param name="Nodes">Distinct nodes of this op type that ran.</param>
/// <param name="Microseconds">Summed kernel time.</param>
public sealed record OpTime(string OpType, int Nodes, double Microseconds);
