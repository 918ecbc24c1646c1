using VbLoraOrt.Runner;

// Ctrl+C asks the run to stop: it writes a final checkpoint and exits with code 130.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
return RunnerCli.Run(args, Console.Out, Console.Error, cancel.Token);
