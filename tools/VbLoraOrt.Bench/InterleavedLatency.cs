using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;

namespace VbLoraOrt.Bench;

/// <summary>
/// Serving model against merged model at one batch size × sequence 128 (<c>vblora-bench serving</c>): the two sessions
/// and one request's inputs, timed in pairs — one run of each, which goes first alternating — so that both see the
/// same machine. Rounds of pairs (<see cref="Round"/>) are spread over the benchmark's run; the verdict is the median
/// of the per-pair ratios, and its spread the range of the rounds' medians.
/// </summary>
sealed class InterleavedLatency : IDisposable
{
    readonly InferenceSession _merged, _serving;
    readonly OrtValue[] _inputs;
    readonly List<OrtLoraAdapter> _adapters;
    readonly List<RunOptions> _perAdapter;
    readonly RunOptions _plain = new();
    readonly LatencyClock _clock;
    readonly List<(double Merged, double Serving)> _pairs = [];
    readonly List<double> _roundRatios = [];
    static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids"];

    public InterleavedLatency(InferenceSession merged, InferenceSession serving, IEnumerable<string> adapterPaths, int batch, int sequence, LatencyClock clock)
    {
        _clock = clock;
        _merged = merged;
        _serving = serving;
        Batch = batch;
        _adapters = adapterPaths.Select(p => OrtLoraAdapter.Create(p, null)).ToList();
        _perAdapter = _adapters.Select(a => { var o = new RunOptions(); o.AddActiveLoraAdapter(a); return o; }).ToList();
        var random = new Random(5);
        long[] ids = Enumerable.Range(0, batch * sequence).Select(i => i % sequence == 0 ? 101L : random.Next(1000, 29000)).ToArray();
        long[] mask = Enumerable.Repeat(1L, batch * sequence).ToArray();
        _inputs = new[] { ids, mask, new long[batch * sequence] }.Select(a => OrtValue.CreateTensorValueFromMemory(a, [batch, sequence])).ToArray();
        for (int i = 0; i < 2; i++)
            Pair(i);
        _pairs.Clear();
    }

    /// <summary>Requests per run.</summary>
    public int Batch { get; }

    /// <summary>The pairs so far, summarized.</summary>
    public LatencyResult Result() => new(
        SampleSummary.Of(_pairs.Select(p => p.Merged)).Median,
        SampleSummary.Of(_pairs.Select(p => p.Serving)).Median,
        SampleSummary.Of(_pairs.Select(p => p.Serving / p.Merged)).Median,
        _roundRatios.Min(), _roundRatios.Max(), _pairs.Count);

    /// <summary>Times <paramref name="pairs"/> more pairs, the serving side cycling through the adapters.</summary>
    public void Round(int pairs)
    {
        var round = new List<double>(pairs);
        for (int i = 0; i < pairs; i++)
        {
            var (merged, serving) = Pair(_pairs.Count + i);
            round.Add(serving / merged);
            _pairs.Add((merged, serving));
        }
        _roundRatios.Add(SampleSummary.Of(round).Median);
    }

    (double Merged, double Serving) Pair(int index)
    {
        var adapter = _perAdapter.Count == 0 ? _plain : _perAdapter[index % _perAdapter.Count];
        if (index % 2 == 0)
        {
            double merged = Time(_merged, _plain);
            return (merged, Time(_serving, adapter));
        }
        double serving = Time(_serving, adapter);
        return (Time(_merged, _plain), serving);
    }

    double Time(InferenceSession session, RunOptions run) => _clock.Milliseconds(() =>
    {
        using var results = session.Run(run, InputNames, _inputs, ["logits"]);
    });

    public void Dispose()
    {
        foreach (var v in _inputs) v.Dispose();
        _perAdapter.ForEach(o => o.Dispose());
        _adapters.ForEach(a => a.Dispose());
        _plain.Dispose();
    }
}

/// <summary>Latency of the serving model against the merged model at one batch size.</summary>
/// <param name="MergedMs">Median ms per run of the merged model.</param>
/// <param name="ServingMs">Median ms per run of the serving model.</param>
/// <param name="Ratio">Median of the per-pair ratios serving / merged.</param>
/// <param name="RoundMin">Smallest median ratio of one round.</param>
/// <param name="RoundMax">Largest median ratio of one round.</param>
/// <param name="Pairs">Pairs timed.</param>
sealed record LatencyResult(double MergedMs, double ServingMs, double Ratio, double RoundMin, double RoundMax, int Pairs);

/// <summary>
/// How many interleaved pairs <c>vblora-bench serving</c> times: <paramref name="Rounds"/> rounds of each batch size,
/// on <paramref name="Clock"/>.
/// </summary>
sealed record LatencyPlan(int Rounds, int PairsAtBatch1, int PairsAtBatch16, LatencyClock Clock = LatencyClock.Wall);

/// <summary>What one run's time is.</summary>
public enum LatencyClock
{
    /// <summary>Elapsed time: what a caller waits, and what other processes on the machine stretch.</summary>
    Wall,

    /// <summary>
    /// The process's CPU time over the run (every thread): the work done, which descheduling by other processes does
    /// not stretch — the measure to trust on a shared, loaded machine. Parallel overheads (threads waiting for each
    /// other) do not show in it.
    /// </summary>
    Cpu,
}

/// <summary>Timing by a <see cref="LatencyClock"/>.</summary>
static class LatencyClocks
{
    /// <summary>Milliseconds of <paramref name="clock"/> that <paramref name="action"/> took.</summary>
    public static double Milliseconds(this LatencyClock clock, Action action)
    {
        if (clock == LatencyClock.Cpu)
        {
            using var process = Process.GetCurrentProcess();
            TimeSpan before = process.TotalProcessorTime;
            action();
            process.Refresh();
            return (process.TotalProcessorTime - before).TotalMilliseconds;
        }
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
}
