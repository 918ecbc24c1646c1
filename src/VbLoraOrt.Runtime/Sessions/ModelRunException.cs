using Microsoft.ML.OnnxRuntime;

namespace VbLoraOrt.Runtime.Sessions;

/// <summary>
/// ONNX Runtime failed while running a model the product built (not while loading it): a defect to report, so not
/// bad input. The message says which model, at which step or batch, and ONNX Runtime's own words.
/// </summary>
public sealed class ModelRunException : Exception
{
    /// <summary>Wraps ONNX Runtime's error.</summary>
    /// <param name="model">The model's file, or a name for a model held in memory.</param>
    /// <param name="where">What was running, e.g. <c>training step 12</c>.</param>
    /// <param name="inner">ONNX Runtime's exception.</param>
    public ModelRunException(string model, string where, OnnxRuntimeException inner)
        : base($"{model}: ONNX Runtime failed in {where}: {inner.Message}", inner)
    {
        Model = model;
        Where = where;
    }

    /// <summary>The model that failed.</summary>
    public string Model { get; }

    /// <summary>What was running.</summary>
    public string Where { get; }

    /// <summary>The same failure with more context, e.g. the batch.</summary>
    public ModelRunException With(string context) => new(Model, $"{Where} ({context})", (OnnxRuntimeException)InnerException!);
}
