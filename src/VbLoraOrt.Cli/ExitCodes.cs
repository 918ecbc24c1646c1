namespace VbLoraOrt.Cli;

/// <summary>Process exit codes shared by <c>vblora-graph</c> and <c>vblora-run</c>.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>A file or value the user gave cannot be used (bad model, data row, checkpoint…).</summary>
    public const int BadInput = 1;

    /// <summary>The command line itself is wrong (unknown option, missing argument, invalid value).</summary>
    public const int Usage = 2;

    /// <summary>A failure inside the product: a bug to report, with the stack trace printed.</summary>
    public const int Internal = 3;

    /// <summary>Interrupted by the user (Ctrl+C, SIGINT) after saving what could be saved.</summary>
    public const int Cancelled = 130;

    /// <summary>Stopped by SIGTERM (containers, Kubernetes, Slurm) after saving what could be saved.</summary>
    public const int Terminated = 143;
}
