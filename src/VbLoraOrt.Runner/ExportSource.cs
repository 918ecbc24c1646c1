using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary>What <c>export</c> exports: a run folder's last checkpoint, or an ONNX Runtime checkpoint of an artifact folder.</summary>
static class ExportSource
{
    public static TrainedRun Open(string? run, string? ortCheckpoint, string? artifacts)
    {
        if (run != null && (ortCheckpoint != null || artifacts != null))
            throw new UsageException("give either --run RUN or --ort-checkpoint FILE with --artifacts DIR, not both");
        if (run != null)
            return TrainedRun.Open(run);
        if (ortCheckpoint == null || artifacts == null)
            throw new UsageException("give --run RUN, or --ort-checkpoint FILE together with --artifacts DIR");
        return OrtCheckpointRuns.Open(artifacts, ortCheckpoint);
    }
}
