using VbLoraOrt.Adapters.Storage;

namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>
/// VeRA's stored form: per target λ_d <c>[r]</c> and λ_b <c>[out]</c> as F32 under PEFT's keys
/// (<c>base_model.model.&lt;path&gt;.vera_lambda_d</c>, <c>….vera_lambda_b</c>); the shared projections are regenerated
/// from the seed in the method options (PEFT's <c>save_projection=False</c> form). The values are the trained ones,
/// so a loaded VeRA adapter can be trained further.
/// </summary>
internal static class VeraStoredForm
{
    /// <summary>The stored tensors of the adapter part, λ_d then λ_b per target.</summary>
    public static List<SafeTensor> Encode(VeraMethod method, AdapterPlan plan, IReadOnlyDictionary<string, float[]> values)
    {
        var tensors = new List<SafeTensor>();
        foreach (var t in plan.Targets)
        {
            tensors.Add(SafeTensor.F32(VeraNames.StoredLambdaD(t.Path), [method.Options.Rank], values[VeraNames.LambdaD(t.Path)]));
            tensors.Add(SafeTensor.F32(VeraNames.StoredLambdaB(t.Path), [t.OutFeatures], values[VeraNames.LambdaB(t.Path)]));
        }
        return tensors;
    }

    /// <summary>The plan's parameter values read back from the stored tensors (dtypes and shapes checked).</summary>
    public static Dictionary<string, float[]> Decode(VeraMethod method, AdapterPlan plan, StoredTensors stored)
    {
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var t in plan.Targets)
        {
            values[VeraNames.LambdaD(t.Path)] = stored.TakeFiniteFloats(VeraNames.StoredLambdaD(t.Path), [method.Options.Rank]);
            values[VeraNames.LambdaB(t.Path)] = stored.TakeFiniteFloats(VeraNames.StoredLambdaB(t.Path), [t.OutFeatures]);
        }
        return values;
    }
}
