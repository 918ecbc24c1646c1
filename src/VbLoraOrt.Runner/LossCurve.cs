using VbLoraOrt.Contracts.Runs;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary>Draws <c>loss.png</c> from a run's metrics: the training loss per step and the eval loss per epoch.</summary>
static class LossCurve
{
    public static void Write(RunFolder run)
    {
        var train = MetricsFile.ReadSteps(run.MetricsPath);
        if (train.Count == 0)
            return;
        var eval = MetricsFile.ReadEvals(run.MetricsPath);
        var plot = new ScottPlot.Plot();
        var line = plot.Add.Scatter(train.Select(p => (double)p.Step).ToArray(), train.Select(p => p.Loss).ToArray());
        line.LegendText = "training loss";
        line.MarkerSize = 0;
        if (eval.Count > 0)
        {
            var points = plot.Add.Scatter(eval.Select(p => (double)p.Step).ToArray(), eval.Select(p => p.EvalLoss).ToArray());
            points.LegendText = "eval loss";
            points.MarkerSize = 8;
        }
        plot.Title("VbLoraOrt training");
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight); // the curves end low and right: keep the legend off them
        using var image = plot.GetImage(800, 500);
        VbLoraOrt.Onnx.AtomicFile.WriteAllBytes(run.PlotPath, image.GetImageBytes(ScottPlot.ImageFormat.Png, 100));
    }
}
