using System.Globalization;
using System.Text.Json;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runtime.Serving;

/// <summary>
/// Answers a JSONL request stream with a <see cref="ServingSession"/>: one result line per request line, in order.
/// Consecutive requests for the same adapter run as one batch (up to the batch size). A line that is not a request, or
/// names an adapter that is not loaded, gets an <c>"error"</c> result and the stream goes on.
/// </summary>
public sealed class JsonlServer(ServingSession session, int batchSize)
{
    /// <summary>Counts of one stream.</summary>
    /// <param name="Requests">Lines answered.</param>
    /// <param name="Errors">Of them, answered with an error.</param>
    /// <param name="Batches">Model runs.</param>
    public sealed record Summary(int Requests, int Errors, int Batches);

    /// <summary>Reads requests from <paramref name="input"/> until its end and writes results to <paramref name="output"/>.</summary>
    public Summary Serve(TextReader input, TextWriter output, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        if (batchSize < 1)
            throw new UsageException($"--batch-size {batchSize}: must be at least 1.");
        var pending = new List<ServeRequest>(batchSize);
        int requests = 0, errors = 0, batches = 0, number = 0;
        void Flush()
        {
            if (pending.Count == 0)
                return;
            foreach (var line in Answer(pending))
            {
                output.WriteLine(line.Json);
                errors += line.IsError ? 1 : 0;
            }
            output.Flush();
            requests += pending.Count;
            batches++;
            pending.Clear();
        }
        while (input.ReadLine() is { } text)
        {
            cancel.ThrowIfCancellationRequested();
            number++;
            if (string.IsNullOrWhiteSpace(text))
                continue;
            var request = ServeRequest.Parse(text, number);
            if (pending.Count > 0 && (pending.Count == batchSize || pending[0].Adapter != request.Adapter || request.Error != null || pending[0].Error != null))
                Flush();
            pending.Add(request);
        }
        Flush();
        return new Summary(requests, errors, batches);
    }

    // One result line per request of a batch sharing one adapter (or one bad line).
    IEnumerable<(string Json, bool IsError)> Answer(List<ServeRequest> batch)
    {
        if (batch[0].Error is { } problem)
            return [(Result(batch[0], w => w.WriteString("error", $"line {batch[0].Line}: {problem}")), true)];
        float[][] rows;
        try
        {
            rows = session.Run(batch[0].Adapter, batch.Select(r => r.Text).ToList());
        }
        catch (BadInputException e)
        {
            return batch.Select(r => (Result(r, w => w.WriteString("error", $"line {r.Line}: {e.Message}")), true)).ToList();
        }
        return batch.Select((r, i) => (Result(r, w => WriteOutput(w, rows[i])), false)).ToList();
    }

    void WriteOutput(Utf8JsonWriter w, float[] row)
    {
        var task = session.Manifest.Task;
        if (task.Kind == TaskKind.Embed)
        {
            WriteArray(w, "embedding", row.Select(v => (double)v));
            return;
        }
        if (task.NumLabels == 1)
        {
            w.WriteNumber("value", row[0]);
            return;
        }
        int best = TaskMetrics.ArgMax(row);
        w.WriteString("label", task.LabelNames is { } names && best < names.Count ? names[best] : best.ToString(CultureInfo.InvariantCulture));
        WriteArray(w, "probabilities", TaskMetrics.Softmax(row));
    }

    static void WriteArray(Utf8JsonWriter w, string name, IEnumerable<double> values)
    {
        w.WriteStartArray(name);
        foreach (double v in values)
            w.WriteNumberValue(Math.Round(v, 6));
        w.WriteEndArray();
    }

    static string Result(ServeRequest request, Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (request.Id is { } id)
            {
                w.WritePropertyName("id");
                id.WriteTo(w);
            }
            if (request.Error == null)
            {
                if (request.Adapter == null)
                    w.WriteNull("adapter");
                else
                    w.WriteString("adapter", request.Adapter);
            }
            body(w);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
