using VbLoraOrt.Cli;
using VbLoraOrt.TorchReference;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
LibTorchSharpLoader.EnsureLoadable(Console.Error);
return CliHost.Run(TorchCommand.Name, TorchCommand.Create(Console.Out, Console.Error, cancel.Token), args, Console.Out, Console.Error);
