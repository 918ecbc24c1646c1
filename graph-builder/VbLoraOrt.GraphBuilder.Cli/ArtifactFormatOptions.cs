using System.CommandLine;
using VbLoraOrt.GraphBuilder.OrtTraining;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Cli;

/// <summary>Which artifact sets prepare writes.</summary>
enum ArtifactFormat
{
    /// <summary>The project's own artifacts (always written: the manifest, runner and export read them).</summary>
    Own,

    /// <summary>The project's own plus ONNX Runtime's training artifacts in <c>ort/</c>.</summary>
    Ort,
}

/// <summary>The <c>--format</c>, <c>--ort-learning-rate</c> and <c>--ort-weight-decay</c> options of prepare.</summary>
sealed class ArtifactFormatOptions
{
    public Option<ArtifactFormat> Format { get; } = new("--format")
    {
        Description = "own, or ort: also write ONNX Runtime's training artifacts (training/eval/optimizer model, ODTC checkpoint) into ort/.",
        DefaultValueFactory = _ => ArtifactFormat.Own,
    };

    public Option<float?> LearningRate { get; } = new("--ort-learning-rate")
    {
        Description = "With --format ort: learning rate stored in ONNX Runtime's checkpoint (default 0.001).",
    };

    public Option<float?> WeightDecay { get; } = new("--ort-weight-decay")
    {
        Description = "With --format ort: weight decay of ONNX Runtime's AdamWOptimizer (default 0, as vblora-run train).",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Format);
        command.Options.Add(LearningRate);
        command.Options.Add(WeightDecay);
    }

    /// <summary>ONNX Runtime's settings when <c>--format ort</c>, else null.</summary>
    public OrtArtifactOptions? Read(ParseResult result)
    {
        float? rate = result.GetValue(LearningRate), decay = result.GetValue(WeightDecay);
        if (result.GetValue(Format) != ArtifactFormat.Ort)
        {
            if (rate != null || decay != null)
                throw new UsageException("--ort-learning-rate and --ort-weight-decay apply to --format ort only");
            return null;
        }
        if (rate is { } r && !(r > 0 && float.IsFinite(r)))
            throw new UsageException($"--ort-learning-rate {r} must be a positive finite number");
        if (decay is { } d && !(d >= 0 && float.IsFinite(d)))
            throw new UsageException($"--ort-weight-decay {d} must be a finite number ≥ 0");
        var defaults = new OrtArtifactOptions();
        return new OrtArtifactOptions { LearningRate = rate ?? defaults.LearningRate, WeightDecay = decay ?? defaults.WeightDecay };
    }
}
