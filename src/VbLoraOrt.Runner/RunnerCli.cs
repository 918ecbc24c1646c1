using System.CommandLine;
using VbLoraOrt.Cli;

namespace VbLoraOrt.Runner;

/// <summary>The <c>vblora-run</c> program: parses a command line and runs the command, writing to the given streams.</summary>
public static class RunnerCli
{
    /// <summary>Program name used in messages.</summary>
    public const string Name = "vblora-run";

    /// <summary>Runs <paramref name="args"/>; returns the process exit code (<see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancel = default) =>
        CliHost.Run(Name, CreateRoot(output, error, cancel), args, output, error);

    /// <summary>The program's commands, writing to the given streams (also what tests enumerate the options of).</summary>
    public static RootCommand CreateRoot(TextWriter output, TextWriter error, CancellationToken cancel = default) =>
        new("vblora-run: trains, evaluates and exports VB-LoRA adapters on ONNX Runtime.")
        {
            TrainCommand.Create(output, error, cancel),
            EvalCommand.Create(output, error),
            ExportCommand.Create(output, error),
            InferCommand.Create(output, error),
            DemoCommand.Create(output, error, cancel),
            ServeCommand.Create(output, error, cancel),
        };
}
