using Spectre.Console;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary>
/// Shows a run: a progress bar with step, loss, tokens/s and ETA on a terminal; one plain line every
/// <see cref="LineEvery"/> steps when output is redirected (logs, CI).
/// </summary>
sealed class ConsoleObserver(TextWriter output, ProgressTask? bar) : ITrainingObserver
{
    const int LineEvery = 10;
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    double _smoothedLoss = double.NaN;
    double _tokensPerSecond;
    long _startStep;

    public void Started(RunPlan plan)
    {
        _startStep = plan.StartStep;
        string resumed = plan.StartStep > 0 ? $", resuming at step {plan.StartStep}" : "";
        string skipped = plan.SkippedRows > 0 ? $", {plan.SkippedRows} bad rows skipped" : "";
        output.WriteLine($"training on {plan.Examples} examples: {plan.BatchesPerEpoch} batches/epoch, {plan.TotalSteps} steps{resumed}{skipped}");
        if (bar != null)
        {
            bar.MaxValue = plan.TotalSteps;
            bar.Value = plan.StartStep;
        }
    }

    public void Stepped(StepReport r)
    {
        _smoothedLoss = double.IsNaN(_smoothedLoss) ? r.Loss : 0.9 * _smoothedLoss + 0.1 * r.Loss;
        _tokensPerSecond = _tokensPerSecond == 0 ? r.TokensPerSecond : 0.9 * _tokensPerSecond + 0.1 * r.TokensPerSecond;
        string status = $"step {r.Step}/{r.TotalSteps} · loss {_smoothedLoss:F4} · {_tokensPerSecond:F0} tok/s";
        if (bar != null)
        {
            bar.Value = r.Step;
            bar.Description = Markup.Escape(status);
        }
        else if (r.Step % LineEvery == 0 || r.Step == r.TotalSteps || !r.Applied)
        {
            double perStep = _clock.Elapsed.TotalSeconds / Math.Max(1, r.Step - _startStep);
            output.WriteLine($"  {status} · eta {TimeSpan.FromSeconds(perStep * (r.TotalSteps - r.Step)):mm\\:ss}{(r.Applied ? "" : " · REJECTED")}");
        }
    }

    public void Evaluated(int epoch, long step, EvalResult result)
    {
        string accuracy = result.Accuracy is double a ? $", accuracy {a:P2}" : "";
        Write($"eval after epoch {epoch + 1} (step {step}): loss {result.Loss:F4}{accuracy} on {result.Count} examples");
    }

    public void Message(string text) => Write(text);

    void Write(string line)
    {
        if (bar != null)
            AnsiConsole.MarkupLine(Markup.Escape(line));
        else
            output.WriteLine(line);
    }

    /// <summary>Runs <paramref name="body"/> with a progress bar on a terminal, plain lines otherwise.</summary>
    public static T Run<T>(TextWriter output, Func<ITrainingObserver, T> body)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return body(new ConsoleObserver(output, null));
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx => result = body(new ConsoleObserver(output, ctx.AddTask("starting"))));
        return result;
    }
}
