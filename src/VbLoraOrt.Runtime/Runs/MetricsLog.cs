using System.Text.Json;
using System.Text.Json.Nodes;
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
            var kept = File.ReadLines(path).Where(line => StepOf(line) is long s && s <= keepThroughStep).ToList();
            AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
        }
        return new MetricsLog(new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true });
    }

    /// <summary>Appends one record.</summary>
    public void Write(JsonObject record) => _writer.WriteLine(record.ToJsonString());

    /// <summary>Reads (step, value) pairs of a numeric field from a metrics file.</summary>
    public static List<(long Step, double Value)> Read(string path, string field)
    {
        var points = new List<(long, double)>();
        foreach (string line in File.ReadLines(path))
        {
            try
            {
                var node = JsonNode.Parse(line);
                if (node?["step"] is JsonValue s && node[field] is JsonValue v)
                    points.Add((s.GetValue<long>(), v.GetValue<double>()));
            }
            catch (JsonException)
            {
                // a torn last line of a killed run
            }
        }
        return points;
    }

    static long? StepOf(string line)
    {
        try
        {
            return JsonNode.Parse(line)?["step"]?.GetValue<long>();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _writer.Dispose();
}
