using System.Text.Json;
using VbLoraOrt.Bench;

namespace VbLoraOrt.Tests.Benchmarks;

[TestClass]
public sealed class BenchmarkReportTests
{
    static SampleSummary Around(double median) => new(10, median, median * 0.95, median * 1.1);

    static BenchmarkResult Result(double clsRatio, double meanRatio, double shortSpeedup, double longSpeedup, double merged) => new()
    {
        Machine = new MachineInfo("Test CPU", 2, "1.31.1", ".NET test", 0.5),
        Settings = new BenchmarkSettings("all-MiniLM-L6-v2", TrainingBenchmark.AdapterDescription, 16, 128, 2, 2, 10, "train.jsonl"),
        ForwardMs = Around(250),
        StepMs = Around(250 * clsRatio),
        StepOverForward = Around(clsRatio),
        ForwardGflop = 45.9,
        StepGflop = 79.5,
        MeanPooled = new PooledStepResult(Around(250 * meanRatio), Around(meanRatio), 92.7),
        HeadOnly = new HeadOnlyStepResult(Around(240), Around(0.45)),
        Throughput = new ThroughputResult(128, 4000 * shortSpeedup, 4000, shortSpeedup, 320, 0.99, 0.94),
        LongThroughput = new ThroughputResult(512, 1300 * longSpeedup, 1300, longSpeedup, 192, 0.98, 0.55),
        Merged = new MergedLatencyResult(Around(250), Around(250 * merged), new SampleSummary(20, merged, merged - 0.02, merged + 0.03)),
        Prepare = new ChildMeasure(700, 257L << 20, "vblora-graph prepare"),
        Training = new ChildMeasure(3200, 1010L << 20, "vblora-run train"),
        Adapters = [new AdapterSize("vblora", 33970, 150192, Measured: true)],
        Profile = new StepProfileResult(5, 2, 520, 0.5, [new ProfiledOp("MatMul", 150, 250, 0.5)], 205, 200, 260, 3, [new ProfiledOp("Mul", 40, 30, 0.1)], 400, 170),
        ForwardCut = new ForwardCutResult(Around(210), Around(200), Around(1.05)),
    };

    static string RowOf(string markdown, string start) =>
        markdown.Split('\n').Single(l => l.StartsWith("| " + start, StringComparison.Ordinal));

    [TestMethod]
    public void Markdown_MarksEachTargetByItsOwnMeasurement()
    {
        string md = BenchmarkReport.Markdown(Result(clsRatio: 1.78, meanRatio: 2.26, shortSpeedup: 1.05, longSpeedup: 2.28, merged: 1.04), "vblora-run bench");

        StringAssert.Contains(RowOf(md, "step / forward (per iteration), CLS-pooled head"), "| 1.78 |");
        StringAssert.Contains(RowOf(md, "step / forward (per iteration), CLS-pooled head"), "✅");
        StringAssert.Contains(RowOf(md, "step / forward (per iteration), mean-pooled head"), "❌");
        StringAssert.Contains(RowOf(md, "bucketed / fixed real-token throughput, max length 128"), "❌");
        StringAssert.Contains(RowOf(md, "bucketed / fixed real-token throughput, max length 512"), "| 2.28 |");
        StringAssert.Contains(RowOf(md, "bucketed / fixed real-token throughput, max length 512"), "✅");
        StringAssert.Contains(RowOf(md, "merged / base latency (per iteration, 20 iterations)"), "❌");
        StringAssert.Contains(RowOf(md, "counted GFLOP"), "45.9 / 79.5 / 92.7");
        StringAssert.Contains(RowOf(md, "forward part of the mean-pooled training graph / base forward"), "| 1.02 |");
        StringAssert.Contains(RowOf(md, "forward part of the mean-pooled training graph / base forward"), "✅");
    }

    [TestMethod]
    public void Markdown_FloorsComeFromTheProfilesProducts()
    {
        // Profile: step kernel 205 + 260 + 3 = 468 ms, of it 400 ms products; base forward 200 ms, of it 170 ms products.
        var result = Result(1.9, 2.2, 1.05, 2.3, 1.0);
        string md = BenchmarkReport.Markdown(result, "vblora-run bench");

        StringAssert.Contains(RowOf(md, "mean-pooled step / base forward, profiled kernel time (468 / 200 ms)"), "| 2.34 |");
        string floor = RowOf(md, "floor: the step's matrix products as they ran (400 ms) + the base forward's other work (30 ms)");
        StringAssert.Contains(floor, "| 2.15 |");
        StringAssert.Contains(floor, "above ≤ 2.05 by 20 ms before any other work; the step's other work took 38 ms");
        string rate = RowOf(md, "floor with the step's products at the base forward's rate (2.02 × 170 ms)");
        StringAssert.Contains(rate, "| 1.87 |"); // (92.7 / 45.9 · 170 + 30) / 200
        StringAssert.Contains(rate, "ran at 86 % of the forward's rate");

        var faster = result with { Profile = result.Profile with { StepProductMs = 350 } };
        StringAssert.Contains(RowOf(BenchmarkReport.Markdown(faster, "vblora-run bench"), "floor: the step's matrix products as they ran (350 ms)"),
            "| 1.90 | | | ≤ 2.05 leaves 30 ms for the step's other work");
    }

    [TestMethod]
    public void Write_JsonRoundTripsTheNumbers()
    {
        string dir = Directory.CreateTempSubdirectory("vblora-report").FullName;
        var result = Result(1.9, 2.2, 1.05, 2.3, 1.0);

        BenchmarkReport.Write(result, "vblora-run bench", Path.Combine(dir, "BENCHMARKS.md"), Path.Combine(dir, "bench.json"));

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "bench.json")));
        Assert.AreEqual(2.2, json.RootElement.GetProperty("MeanPooled").GetProperty("StepOverForward").GetProperty("Median").GetDouble());
        Assert.AreEqual(512, json.RootElement.GetProperty("LongThroughput").GetProperty("MaxLength").GetInt64());
        Assert.IsTrue(File.ReadAllText(Path.Combine(dir, "BENCHMARKS.md")).StartsWith("# Benchmarks", StringComparison.Ordinal));
    }
}
