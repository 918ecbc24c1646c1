using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Tests.Support;

/// <summary>A few steps of training on <see cref="PreparedArtifacts.Classify"/>: a trained run folder for export and eval tests.</summary>
public static class BriefRun
{
    internal sealed class Quiet : ITrainingObserver
    {
        public void Started(RunPlan plan) { }
        public void Stepped(StepReport report) { }
        public void Evaluated(int epoch, long step, EvalResult result) { }
        public void Message(string text) { }
    }

    /// <summary>Trains <paramref name="steps"/> steps (batch 4, 32 tokens) on the first <paramref name="rows"/> spam/ham rows.</summary>
    /// <returns>The run folder and the data file.</returns>
    public static (string Run, string Data) Train(int rows, int steps, string prefix)
    {
        string data = PreparedArtifacts.SpamSample(rows);
        string run = PreparedArtifacts.NewFolder(prefix);
        TrainingRun.Start(new TrainOptions
        {
            Artifacts = PreparedArtifacts.Classify, TrainFile = data, Out = run, MaxSteps = steps, BatchSize = 4, MaxLength = 32,
            LearningRates = new() { ["bank"] = 1e-2f, ["logits"] = 1e-1f, ["head"] = 1e-2f },
        }, new Quiet());
        return (run, data);
    }
}
