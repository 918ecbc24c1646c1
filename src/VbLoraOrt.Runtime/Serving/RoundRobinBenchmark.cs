using System.Diagnostics;
using System.Text.Json;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Serving;

/// <summary>
/// <c>vblora-run serve --benchmark N</c> (DESIGN.md §7.1): N requests of one text each, the adapter changing with every
/// request — round-robin over the loaded adapters in name order — so that nothing batches and every run switches
/// adapter, the hard case for per-request adapters. Each adapter runs once untimed first. Reports the throughput and
/// the per-request latency (nearest-rank median and 95th percentile).
/// </summary>
public static class RoundRobinBenchmark
{
    /// <summary>What a benchmark measured.</summary>
    public sealed record Result(int Requests, int Adapters, double Seconds, double RequestsPerSecond, double LatencyMsMedian, double LatencyMsP95);

    /// <summary>Sends <paramref name="requests"/> requests, the i-th with text i and adapter i modulo their counts.</summary>
    /// <exception cref="UsageException">Fewer than one request.</exception>
    /// <exception cref="BadInputException">No adapter is loaded, or no text is given.</exception>
    public static Result Run(ServingSession session, IReadOnlyList<string> texts, int requests, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(texts);
        if (requests < 1)
            throw new UsageException($"--benchmark {requests}: give the number of requests to send, at least 1.");
        if (session.Adapters.Count == 0)
            throw new BadInputException("--benchmark needs adapters to rotate through, and none is loaded; give --adapters.");
        if (texts.Count == 0)
            throw new BadInputException("--benchmark: the input holds no request texts; give JSONL lines with a \"text\", or no --input for the built-in text.");
        var names = session.Adapters.Keys.Order(StringComparer.Ordinal).ToList();
        foreach (string name in names)
            session.Run(name, [texts[0]]);
        var latencies = new double[requests];
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < requests; i++)
        {
            cancel.ThrowIfCancellationRequested();
            long begin = Stopwatch.GetTimestamp();
            session.Run(names[i % names.Count], [texts[i % texts.Count]]);
            latencies[i] = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Array.Sort(latencies);
        return new Result(requests, names.Count, seconds, requests / seconds, NearestRank(latencies, 0.50), NearestRank(latencies, 0.95));
    }

    /// <summary>The <c>"text"</c> of every JSONL line (blank lines skipped); the adapters named there are not used.</summary>
    /// <exception cref="BadInputException">A line is not a JSON object with a string <c>"text"</c>; names the line.</exception>
    public static List<string> Texts(TextReader input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var texts = new List<string>();
        int number = 0;
        while (input.ReadLine() is { } line)
        {
            number++;
            if (line.Trim().Length == 0)
                continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                {
                    texts.Add(text.GetString()!);
                    continue;
                }
            }
            catch (JsonException)
            {
            }
            throw new BadInputException($"request line {number}: not a JSON object with a string \"text\"; fix or remove the line.");
        }
        return texts;
    }

    static double NearestRank(double[] sorted, double quantile) =>
        sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];
}
