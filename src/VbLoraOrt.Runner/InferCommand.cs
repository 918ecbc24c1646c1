using System.CommandLine;
using System.Globalization;
using VbLoraOrt.Cli;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary><c>vblora-run infer --model MERGED.onnx --text "…" [--text "…"]</c>.</summary>
static class InferCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model") { Description = "A merged model written by `vblora-run export --merged`.", Required = true };
        var text = new Option<string[]>("--text") { Description = "Text to classify or embed (repeatable).", Required = true, AllowMultipleArgumentsPerToken = false };
        var vocab = new Option<string?>("--vocab") { Description = "Vocabulary (default: the one exported beside the model, which the model records)." };
        var maxLength = new Option<int>("--max-length") { Description = "Tokens per text (default: the length the model was trained with)." }.AtLeast(0);
        var command = new Command("infer", "Predict with a merged model: the class (with probability) or the embedding's first values.") { model, text, vocab, maxLength };
        command.SetAction(r => CommandGuard.Run(RunnerCli.Name, () =>
        {
            foreach (var p in Predictor.Predict(r.GetValue(model)!, r.GetValue(vocab), r.GetValue(text)!, r.GetValue(maxLength)))
                output.WriteLine(Describe(p));
            return ExitCodes.Ok;
        }, error));
        return command;
    }

    public static string Describe(Prediction p)
    {
        string shown = p.Text.Length > 60 ? p.Text[..57] + "..." : p.Text;
        string result = p.Label != null
            ? $"{p.Label} ({p.Probability:P1})"
            : "[" + string.Join(", ", p.Output.Take(5).Select(v => v.ToString("F4", CultureInfo.InvariantCulture))) + (p.Output.Length > 5 ? ", …]" : "]");
        return $"{result,-16} {shown.ReplaceLineEndings(" ")}";
    }
}
