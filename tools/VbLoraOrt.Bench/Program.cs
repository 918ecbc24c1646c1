using VbLoraOrt.Bench;
using VbLoraOrt.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
return CliHost.Run(BenchCommand.Name, BenchCommand.Create(Console.Out, Console.Error, cancel.Token), args, Console.Out, Console.Error);
