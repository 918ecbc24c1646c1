namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// How a serving model applies each target's factors to <c>y = x·W</c> (DESIGN.md §7.1.1; <see cref="ServingWiring"/>).
/// All forms are exact; they differ in cost. Exporters default to <see cref="Switch"/>; a <c>serving.json</c> that
/// records no form is from before the choice existed, when every model took <see cref="Activation"/>.
/// </summary>
public enum ServingFormChoice
{
    /// <summary><c>x·W + (x·Aᵀ)·Bᵀ</c>: <c>2·T·r·(in + out)</c> FLOP for T tokens.</summary>
    Activation,

    /// <summary><c>x·(W + Aᵀ·Bᵀ)</c>, the weight composed once per request: <c>2·r·in·out</c> FLOP whatever T.</summary>
    Weight,

    /// <summary>An ONNX <c>If</c> on the request's token count picks the cheaper of the two at run time.</summary>
    Switch,
}
