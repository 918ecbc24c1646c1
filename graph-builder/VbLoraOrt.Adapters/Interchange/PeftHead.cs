using VbLoraOrt.Adapters.Peft;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>
/// A classification head as PEFT saves a module of <c>modules_to_save</c>: torch <c>Linear</c> layout,
/// <c>base_model.model.&lt;module&gt;.weight</c> <c>[labels, hidden]</c> and <c>.bias</c> <c>[labels]</c>
/// (<c>ModulesToSaveWrapper</c>'s <c>modules_to_save.default.</c> level removed).
/// </summary>
/// <param name="Module">The module name (<c>classifier</c> for BERT-style sequence classifiers).</param>
/// <param name="Weight">Row-major <c>[labels, hidden]</c>.</param>
/// <param name="Bias"><c>[labels]</c>.</param>
/// <param name="Labels">Output size.</param>
/// <param name="Hidden">Input size.</param>
public sealed record PeftHead(string Module, float[] Weight, float[] Bias, int Labels, int Hidden)
{
    /// <summary>The module PEFT's sequence classifiers keep for BERT-style models.</summary>
    public const string Classifier = "classifier";

    /// <summary>What <c>PeftModelForSequenceClassification</c> puts in <c>modules_to_save</c> when none is given.</summary>
    public static IReadOnlyList<string> SequenceClassificationModules { get; } = [Classifier, "score"];

    /// <summary>The key of the weight.</summary>
    public string WeightKey => PeftKeys.ModuleToSave(Module, "weight");

    /// <summary>The key of the bias.</summary>
    public string BiasKey => PeftKeys.ModuleToSave(Module, "bias");

    /// <summary>The weight in the graph's <c>[hidden, labels]</c> layout.</summary>
    public float[] WeightHiddenLabels()
    {
        var result = new float[Weight.Length];
        for (int l = 0; l < Labels; l++)
            for (int h = 0; h < Hidden; h++)
                result[(long)h * Labels + l] = Weight[(long)l * Hidden + h];
        return result;
    }

    /// <summary>A head from the graph's <c>[hidden, labels]</c> weight.</summary>
    public static PeftHead FromHiddenLabels(string module, float[] weight, float[] bias, int hidden, int labels)
    {
        var torch = new float[weight.Length];
        for (int h = 0; h < hidden; h++)
            for (int l = 0; l < labels; l++)
                torch[(long)l * hidden + h] = weight[(long)h * labels + l];
        return new PeftHead(module, torch, bias, labels, hidden);
    }
}
