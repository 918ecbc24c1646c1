using System.Text.Json;
using VbLoraOrt.Adapters;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Runner;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Serving;

namespace VbLoraOrt.Tests.Serving;

/// <summary>
/// JSONL serving on a tiny LoRA serving folder: results in request order, each with its own adapter's answer (checked
/// against the merged model), consecutive requests of one adapter batched, bad lines and unknown adapters answered with
/// an error while the stream goes on; and <c>vblora-run serve</c> end to end, a refused adapter left out.
/// </summary>
[TestClass]
public sealed class JsonlServerTests
{
    static IAdapterMethod _method = null!;
    static ServingModel _serving = null!;
    static string _folder = null!;
    static string _a = null!, _b = null!;

    [ClassInitialize]
    public static void Initialize(TestContext _)
    {
        _method = TinyServing.Method("lora");
        _serving = TinyServing.Build(_method);
        _folder = TinyServing.WriteFolder(_method, _serving);
        _a = Write("a", 11);
        _b = Write("b", 12);
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_folder, recursive: true);

    static string Write(string name, int seed)
    {
        string path = Path.Combine(_folder, name + OnnxAdapterFile.Extension);
        ServingAdapter.Write(path, TinyServing.Adapter(_method, _serving, TinyServing.Values(_serving, seed)));
        return path;
    }

    static string Request(string? adapter, string text, int id) =>
        JsonSerializer.Serialize(new Dictionary<string, object?> { ["adapter"] = adapter, ["text"] = text, ["id"] = id });

    // Softmax of the merged model's logits for one text with adapter seed `seed`.
    static double[] Expected(int seed, string text)
    {
        var tokenizer = VbLoraOrt.Runtime.Text.BertTextTokenizer.Load(Path.Combine(_folder, "vocab.txt"));
        using var merged = OnnxAdapters.OrtLoraAdapterTests.NewSession(TinyServing.Merged(_method, _serving, TinyServing.Values(_serving, seed)));
        using var options = new Microsoft.ML.OnnxRuntime.RunOptions();
        return TaskMetrics.Softmax(TinyServing.Logits(merged, options, [tokenizer.Encode(text, null, 16).Ids.Select(i => (long)i).ToArray()]));
    }

    [TestMethod]
    public void Serve_InterleavedRequests_AnswersEachInOrderWithItsOwnAdapter()
    {
        using var session = ServingSession.Open(_folder);
        session.Load("a", _a);
        session.Load("b", _b);
        string[] lines =
        [
            Request("a", "hello world", 1), Request("a", "win free money", 2), Request("b", "hello world", 3),
            "{not json", Request("nobody", "lunch", 5), "", Request("a", "lunch at noon", 6), Request(null, "hello", 7),
        ];
        var output = new StringWriter();

        var summary = new JsonlServer(session, batchSize: 16).Serve(new StringReader(string.Join('\n', lines)), output);

        var results = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.HasCount(7, results, "one result per request line (the empty line is skipped)");
        CollectionAssert.AreEqual(new[] { 1, 2, 3, -1, 5, 6, 7 }, results.Select(r => r.TryGetProperty("id", out var id) ? id.GetInt32() : -1).ToArray());
        foreach (var (index, seed, text) in new[] { (0, 11, "hello world"), (1, 11, "win free money"), (2, 12, "hello world"), (5, 11, "lunch at noon") })
        {
            double[] expected = Expected(seed, text), actual = results[index].GetProperty("probabilities").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.AreEqual(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.AreEqual(expected[i], actual[i], 2e-6, $"request {index}, class {i}");
            Assert.AreEqual(TinyServing.Task.LabelNames![TaskMetrics.ArgMax(expected.Select(v => (float)v).ToArray())], results[index].GetProperty("label").GetString());
        }
        StringAssert.Contains(results[3].GetProperty("error").GetString(), "line 4: not valid JSON");
        StringAssert.Contains(results[4].GetProperty("error").GetString(), "no adapter named 'nobody'");
        Assert.AreEqual(JsonValueKind.Null, results[6].GetProperty("adapter").ValueKind, "no adapter: the zero update");
        Assert.AreEqual(new JsonlServer.Summary(7, 2, 6), summary, "requests 1-2 share a run; every other line runs alone");
    }

    [TestMethod]
    public void ServeCommand_WithARefusedAdapter_ServesTheOthers()
    {
        string bad = Path.Combine(_folder, "bad" + OnnxAdapterFile.Extension);
        File.WriteAllBytes(bad, File.ReadAllBytes(_a)[..40]);
        string input = Path.Combine(_folder, "requests.jsonl"), results = Path.Combine(_folder, $"results-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(input, [Request("b", "hello world", 1), Request("bad", "hello world", 2)]);
        var output = new StringWriter();
        var error = new StringWriter();

        int code = RunnerCli.Run(["serve", "--model", _folder, "--adapters", $"b={_b},bad={bad}", "--input", input, "--output", results], output, error);

        Assert.AreEqual(0, code, error.ToString());
        StringAssert.Contains(error.ToString(), "adapter 'bad' not loaded");
        StringAssert.Contains(error.ToString(), "loaded 1 of 2 adapters");
        var lines = File.ReadAllLines(results).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.HasCount(2, lines);
        Assert.AreEqual(Expected(12, "hello world")[0], lines[0].GetProperty("probabilities")[0].GetDouble(), 2e-6);
        StringAssert.Contains(lines[1].GetProperty("error").GetString(), "no adapter named 'bad'");
        Assert.AreEqual(2, RunnerCli.Run(["serve", "--model", _folder, "--adapters", $"b={_b}", "--input", input, "--output", results], output, error),
            "an existing --output file is never replaced");
    }

    [TestMethod]
    public void ServeBenchmark_RoundRobinOverTheAdapters_ReportsThroughputAndLatency()
    {
        string input = Path.Combine(_folder, $"texts-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(input, [Request("ignored", "hello world", 1), "", Request(null, "free lunch at noon", 2)]);
        var output = new StringWriter();
        var error = new StringWriter();

        int code = RunnerCli.Run(["serve", "--model", _folder, "--adapters", $"a={_a},b={_b}", "--input", input, "--benchmark", "7"], output, error);

        Assert.AreEqual(0, code, error.ToString());
        var result = JsonDocument.Parse(output.ToString()).RootElement;
        Assert.AreEqual(7, result.GetProperty("requests").GetInt32());
        Assert.AreEqual(2, result.GetProperty("adapters").GetInt32());
        double median = result.GetProperty("latencyMsMedian").GetDouble(), p95 = result.GetProperty("latencyMsP95").GetDouble();
        Assert.IsGreaterThan(0.0, median);
        Assert.IsGreaterThanOrEqualTo(median, p95);
        Assert.IsGreaterThan(0.0, result.GetProperty("requestsPerSecond").GetDouble());
        StringAssert.Contains(error.ToString(), "7 requests round-robin over 2 adapters");
    }

    [TestMethod]
    public void ServeBenchmark_BadSettingsOrInput_AreRefusedNamingThem()
    {
        string input = Path.Combine(_folder, $"texts-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(input, [Request("a", "hello world", 1), "{\"adapter\": \"a\"}"]);
        var error = new StringWriter();

        Assert.AreEqual(2, RunnerCli.Run(["serve", "--model", _folder, "--adapters", $"a={_a}", "--benchmark", "0"], TextWriter.Null, error));
        StringAssert.Contains(error.ToString(), "--benchmark 0");
        Assert.AreEqual(2, RunnerCli.Run(["serve", "--model", _folder, "--adapters", $"a={_a}", "--benchmark", "3", "--batch-size", "4"], TextWriter.Null, error));
        StringAssert.Contains(error.ToString(), "--batch-size does not apply to --benchmark");
        Assert.AreEqual(1, RunnerCli.Run(["serve", "--model", _folder, "--benchmark", "3"], TextWriter.Null, error));
        StringAssert.Contains(error.ToString(), "give --adapters");
        Assert.AreEqual(1, RunnerCli.Run(["serve", "--model", _folder, "--adapters", $"a={_a}", "--input", input, "--benchmark", "3"], TextWriter.Null, error));
        StringAssert.Contains(error.ToString(), "request line 2");
    }
}
