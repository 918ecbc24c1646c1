using System.CommandLine;
using VbLoraOrt.Cli;

namespace VbLoraOrt.GraphBuilder.Cli;

/// <summary>The <c>vblora-graph</c> program: parses a command line and runs the command, writing to the given streams.</summary>
public static class GraphCli
{
    /// <summary>Program name used in messages.</summary>
    public const string Name = "vblora-graph";

    /// <summary>Runs <paramref name="args"/>; returns the process exit code (<see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) =>
        CliHost.Run(Name, CreateRoot(output, error), args, output, error);

    /// <summary>The program's commands, writing to the given streams (also what tests enumerate the options of).</summary>
    public static RootCommand CreateRoot(TextWriter output, TextWriter error) =>
        new("vblora-graph: prepares exported ONNX transformers for VB-LoRA-family fine-tuning.")
        {
            InspectCommand.Create(output, error),
            PrepareCommand.Create(output, error),
            MergeCommand.Create(output, error),
        };
}
