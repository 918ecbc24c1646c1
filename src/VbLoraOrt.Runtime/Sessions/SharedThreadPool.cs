using Microsoft.ML.OnnxRuntime;

namespace VbLoraOrt.Runtime.Sessions;

/// <summary>
/// One process-wide ONNX Runtime intra-op thread pool shared by every session <see cref="DeviceSessions"/> opens
/// (training, optimizer, evaluation), instead of one pool per session (DESIGN.md §6.1).
/// </summary>
/// <remarks>
/// ONNX Runtime's environment (<see cref="OrtEnv"/>) is process-wide and created once, by the first call that needs
/// it; global pools can only be given at that moment. So <see cref="TryEnable"/> must run before anything in the
/// process touches ONNX Runtime. When the environment already exists (a session opened earlier, a test host, a library),
/// it returns false and sessions keep their own pools: asking a session for the global pool of an environment created
/// without one would fail when the session is created. The pool's size is fixed when it is created; a later
/// <see cref="DeviceOptions.IntraOpThreads"/> does not change it.
/// </remarks>
public static class SharedThreadPool
{
    static readonly Lock Gate = new();
    static int? _threads;

    /// <summary>True when this process's environment was created with the shared pool; sessions then use it.</summary>
    public static bool IsEnabled
    {
        get { lock (Gate) return _threads.HasValue; }
    }

    /// <summary>Threads of the shared pool; null when it is not enabled.</summary>
    public static int? Threads
    {
        get { lock (Gate) return _threads; }
    }

    /// <summary>
    /// Creates the process's ONNX Runtime environment with one global intra-op pool of <paramref name="threads"/>
    /// threads (0: ONNX Runtime picks one per physical core), spinning off as the per-session pools run. Returns true
    /// when the shared pool is in use (created now or by an earlier call), false when the environment already existed
    /// without it.
    /// </summary>
    public static bool TryEnable(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        lock (Gate)
        {
            if (_threads.HasValue)
                return true;
            if (OrtEnv.IsCreated)
                return false;
            using var threading = new OrtThreadingOptions { GlobalIntraOpNumThreads = threads, GlobalInterOpNumThreads = 1, GlobalSpinControl = false };
            var options = new EnvironmentCreationOptions { logId = "vblora", logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, threadOptions = threading };
            OrtEnv.CreateInstanceWithOptions(ref options);
            _threads = threads;
            return true;
        }
    }
}
