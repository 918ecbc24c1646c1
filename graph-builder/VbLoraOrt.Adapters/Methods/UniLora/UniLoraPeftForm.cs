using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;

namespace VbLoraOrt.Adapters.Methods.UniLora;

/// <summary>
/// Uni-LoRA in a PEFT directory: <c>r</c>, <c>theta_d_length</c>, <c>proj_seed</c>, <c>init_theta_d_bound</c>; the one
/// tensor <c>base_model.unilora_theta_d</c>, the projection regenerated from the seed. Directories saved with
/// <c>save_indices</c> are refused (their per-module buffers are not read yet).
/// </summary>
public sealed class UniLoraPeftForm : IPeftForm
{
    /// <inheritdoc/>
    public string Method => UniLoraDescriptor.Instance.Name;

    /// <inheritdoc/>
    public string PeftType => UniLoraPeft.Type;

    /// <inheritdoc/>
    public IReadOnlyList<string> ModuleTensors(AdapterConfig config) => [];

    /// <inheritdoc/>
    public void Describe(IAdapterMethod method, AdapterConfig config, PeftExportOptions options)
    {
        var o = ((UniLoraMethod)method).Options;
        config.Set("r", o.Rank).Set("theta_d_length", o.ThetaLength).Set("proj_seed", PeftFields.Number(o.ProjectionSeed))
            .Set("init_theta_d_bound", o.InitThetaBound);
    }

    /// <inheritdoc/>
    public IReadOnlyList<SafeTensor> Encode(IAdapterMethod method, AdapterPlan plan, IReadOnlyDictionary<string, float[]> values, PeftExportOptions options) =>
        method.Encode(plan, values);

    /// <inheritdoc/>
    public IAdapterMethod Configure(AdapterConfig config, string source)
    {
        PeftFields.Require(config, source, "save_indices", false, "the projection is regenerated from proj_seed; saved index buffers are not read yet");
        return new UniLoraMethod(new UniLoraOptions
        {
            Rank = config.Rank,
            ThetaLength = config.GetInt("theta_d_length"),
            ProjectionSeed = config.GetInt("proj_seed"),
            InitThetaBound = config.GetNumber("init_theta_d_bound"),
        });
    }

    /// <inheritdoc/>
    public PeftDecoded Decode(IAdapterMethod method, AdapterPlan plan, AdapterConfig config, StoredTensors stored)
    {
        var values = method.Decode(plan, stored);
        return new PeftDecoded(method, values, method.ComputeFactors(plan, values), Trainable: true);
    }
}
