using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;

namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>
/// VeRA in a PEFT directory: <c>r</c>, <c>projection_prng_key</c>, <c>d_initial</c>, <c>save_projection</c>; per target
/// <c>vera_lambda_d</c> <c>[r]</c> and <c>vera_lambda_b</c> <c>[out]</c>, and with <c>save_projection</c> (PEFT's default)
/// the shared <c>base_model.vera_A</c> <c>[r, max_in]</c> and <c>base_model.vera_B</c> <c>[max_out, r]</c>. Saved
/// projections are used as they are; when they equal what one of torch's CPU kernels draws from the seed
/// (<see cref="UniformArithmetic"/>), the method is configured with that kernel and can be trained further.
/// </summary>
public sealed class VeraPeftForm : IPeftForm
{
    /// <inheritdoc/>
    public string Method => VeraDescriptor.Instance.Name;

    /// <inheritdoc/>
    public string PeftType => VeraPeft.Type;

    /// <inheritdoc/>
    public IReadOnlyList<string> ModuleTensors(AdapterConfig config) => ["vera_lambda_d", "vera_lambda_b"];

    /// <inheritdoc/>
    public void Describe(IAdapterMethod method, AdapterConfig config, PeftExportOptions options)
    {
        var o = ((VeraMethod)method).Options;
        config.Set("r", o.Rank).Set("projection_prng_key", PeftFields.Number(o.ProjectionSeed)).Set("d_initial", o.DInitial)
            .Set("save_projection", options.SaveProjection);
    }

    /// <inheritdoc/>
    public IReadOnlyList<SafeTensor> Encode(IAdapterMethod method, AdapterPlan plan, IReadOnlyDictionary<string, float[]> values, PeftExportOptions options)
    {
        var tensors = method.Encode(plan, values).ToList();
        if (options.SaveProjection)
        {
            var shared = ((VeraMethod)method).Projections(plan);
            tensors.Add(SafeTensor.F32(VeraNames.StoredA, [shared.Rank, shared.MaxIn], shared.A));
            tensors.Add(SafeTensor.F32(VeraNames.StoredB, [shared.MaxOut, shared.Rank], shared.B));
        }
        return tensors;
    }

    /// <inheritdoc/>
    public IAdapterMethod Configure(AdapterConfig config, string source) => new VeraMethod(new VeraOptions
    {
        Rank = config.Rank,
        ProjectionSeed = config.GetInt("projection_prng_key"),
        DInitial = config.GetNumber("d_initial"),
    });

    /// <inheritdoc/>
    public PeftDecoded Decode(IAdapterMethod method, AdapterPlan plan, AdapterConfig config, StoredTensors stored)
    {
        var vera = (VeraMethod)method;
        var values = method.Decode(plan, stored);
        if (!config.GetBool("save_projection"))
            return new PeftDecoded(method, values, method.ComputeFactors(plan, values), Trainable: true);

        var generated = vera.Projections(plan);
        int r = vera.Options.Rank;
        var saved = new VeraProjections(
            stored.TakeFiniteFloats(VeraNames.StoredA, [r, generated.MaxIn]),
            stored.TakeFiniteFloats(VeraNames.StoredB, [generated.MaxOut, r]), r, generated.MaxIn, generated.MaxOut);
        foreach (var arithmetic in Enum.GetValues<UniformArithmetic>())
        {
            var candidate = new VeraMethod(new VeraOptions
            {
                Rank = r, ProjectionSeed = vera.Options.ProjectionSeed, DInitial = vera.Options.DInitial, ProjectionArithmetic = arithmetic,
            });
            var drawn = candidate.Projections(candidate.Plan(plan.Targets));
            if (drawn.A.AsSpan().SequenceEqual(saved.A) && drawn.B.AsSpan().SequenceEqual(saved.B))
                return new PeftDecoded(candidate, values, candidate.FactorsFrom(candidate.Plan(plan.Targets), drawn, values), Trainable: true);
        }
        return new PeftDecoded(method, values, vera.FactorsFrom(plan, saved, values), Trainable: false);
    }
}
