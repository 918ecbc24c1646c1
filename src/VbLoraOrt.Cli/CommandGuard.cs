using VbLoraOrt.Onnx;

namespace VbLoraOrt.Cli;

/// <summary>
/// The one boundary between a command's work and the process (DESIGN.md §8). Only the product's own exception types
/// are the user's to fix: <see cref="BadInputException"/> (and its subclasses) is exit 1, <see cref="UsageException"/>
/// exit 2, both printed as one line. The operating system refusing a file operation (a missing file, no permission, a
/// full disk: <see cref="IOException"/>, <see cref="UnauthorizedAccessException"/>) is the user's environment, exit 1
/// with the system's message, which names the path. Cancellation is 130. Everything else — including an
/// <see cref="ArgumentException"/> from inside a library — is a defect: exit 3 with the stack trace, to report.
/// </summary>
public static class CommandGuard
{
    /// <summary>Runs <paramref name="body"/> and maps its failures to exit codes.</summary>
    public static int Run(string program, Func<int> body, TextWriter? error = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        error ??= Console.Error;
        try
        {
            return body();
        }
        catch (BadInputException e)
        {
            error.WriteLine($"{program}: error: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (UsageException e)
        {
            error.WriteLine($"{program}: error: {e.Message}");
            error.WriteLine($"Run `{program} --help` for usage.");
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine($"{program}: cancelled.");
            return ExitCodes.Cancelled;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"{program}: error: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            error.WriteLine($"{program}: internal error (please report): {e}");
            return ExitCodes.Internal;
        }
    }
}
