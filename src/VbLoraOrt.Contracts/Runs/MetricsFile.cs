using System.Text.Json;
using System.Text.Json.Nodes;

namespace VbLoraOrt.Contracts.Runs;

/// <summary>Reads <c>metrics.jsonl</c> back as typed records; a torn last line of a killed run is skipped.</summary>
public static class MetricsFile
{
    /// <summary>The step records, in file order.</summary>
    public static List<StepMetrics> ReadSteps(string path) => Read<StepMetrics>(path, "loss");

    /// <summary>The evaluation records, in file order.</summary>
    public static List<EvalMetrics> ReadEvals(string path) => Read<EvalMetrics>(path, "eval_loss");

    /// <summary>A record as one line.</summary>
    public static string ToLine<T>(T record) => JsonSerializer.Serialize(record);

    /// <summary>The step a line records, or null when the line is not a complete record.</summary>
    public static long? StepOf(string line)
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

    // A line is a record of kind T when it has the kind's distinguishing field.
    static List<T> Read<T>(string path, string field)
    {
        var records = new List<T>();
        foreach (string line in File.ReadLines(path))
        {
            try
            {
                if (JsonNode.Parse(line) is JsonObject o && o.ContainsKey(field) && o.Deserialize<T>() is { } record)
                    records.Add(record);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                // a torn last line of a killed run
            }
        }
        return records;
    }
}
