using System.Runtime.InteropServices;
using VbLoraOrt.Cli;
using VbLoraOrt.Runner;

// Ctrl+C (SIGINT) and SIGTERM (what containers, Kubernetes and Slurm send) ask the run to stop: it writes a final
// checkpoint and exits with 130 or 143, as shells report a process ended by those signals.
using var cancel = new CancellationTokenSource();
int cancelledCode = ExitCodes.Cancelled;
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop(ExitCodes.Cancelled));
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop(ExitCodes.Terminated));
int code = RunnerCli.Run(args, Console.Out, Console.Error, cancel.Token);
return code == ExitCodes.Cancelled ? cancelledCode : code;

Action<PosixSignalContext> Stop(int exitCode) => context =>
{
    context.Cancel = true; // the run stops itself after saving; the runtime does not end the process
    cancelledCode = exitCode;
    cancel.Cancel();
};
