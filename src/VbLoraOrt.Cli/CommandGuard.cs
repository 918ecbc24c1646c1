using VbLoraOrt.Onnx;

namespace VbLoraOrt.Cli;

/// <summary>
/// The one boundary between a command's work and the process: user errors become one line on stderr and
/// <see cref="ExitCodes.BadInput"/>/<see cref="ExitCodes.Usage"/>; anything else is an internal error with its trace.
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
        catch (ArgumentException e)
        {
            error.WriteLine($"{program}: error: {e.Message}");
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
