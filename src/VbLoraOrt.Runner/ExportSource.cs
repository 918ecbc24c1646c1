using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary>
/// What <c>export</c> exports: a run folder's last checkpoint, or an ONNX Runtime checkpoint or a PEFT directory applied
/// to an artifact folder.
/// </summary>
static class ExportSource
{
    public static TrainedRun Open(string? run, string? ortCheckpoint, string? artifacts, string? fromPeft = null)
    {
        if (new[] { run, ortCheckpoint, fromPeft }.Count(s => s != null) > 1 || run != null && artifacts != null)
            throw new UsageException("give one of --run RUN, --ort-checkpoint FILE with --artifacts DIR, or --from-peft DIR with --artifacts DIR");
        if (run != null)
            return TrainedRun.Open(run);
        if (ortCheckpoint == null && fromPeft == null || artifacts == null)
            throw new UsageException("give --run RUN, or --ort-checkpoint FILE or --from-peft DIR together with --artifacts DIR");
        return fromPeft != null ? PeftRuns.Open(artifacts, fromPeft) : OrtCheckpointRuns.Open(artifacts, ortCheckpoint!);
    }
}
