using VbLoraOrt.Contracts.Runs;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Runs;

/// <summary><c>metrics.jsonl</c>: appended and flushed line by line, so a killed run keeps what it logged.</summary>
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter _writer;

    MetricsLog(StreamWriter writer) => _writer = writer;

    /// <summary>Opens the log, dropping lines of steps after <paramref name="keepThroughStep"/> (logged before a crash, redone on resume).</summary>
    public static MetricsLog Open(string path, long keepThroughStep)
    {
        if (File.Exists(path))
        {
            var kept = File.ReadLines(path).Where(line => MetricsFile.StepOf(line) is long s && s <= keepThroughStep).ToList();
            AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
        }
        return new MetricsLog(new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true });
    }

    /// <summary>Appends a step record.</summary>
    public void Write(StepMetrics record) => _writer.WriteLine(MetricsFile.ToLine(record));

    /// <summary>Appends an evaluation record.</summary>
    public void Write(EvalMetrics record) => _writer.WriteLine(MetricsFile.ToLine(record));

    /// <inheritdoc/>
    public void Dispose() => _writer.Dispose();
}
