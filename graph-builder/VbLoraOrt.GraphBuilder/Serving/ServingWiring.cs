using Onnx;
using VbLoraOrt.Adapters;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using static VbLoraOrt.Onnx.Attr;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// The forms a serving model applies a target's factors in (DESIGN.md §7.1.1, <see cref="ServingFormChoice"/>). The
/// activation form <c>x·W + (x·Aᵀ)·Bᵀ</c> (the injector's own) costs <c>2·T·r·(in + out)</c> FLOP for T tokens; the
/// weight form, <c>ΔW = Aᵀ·Bᵀ</c> added to the weight once per request and then <c>x·W'</c>, costs <c>2·r·in·out</c>
/// whatever T, so it is the cheaper one above <see cref="CrossoverTokens"/>. The switch chooses between them per
/// request with an ONNX <c>If</c> on the token count. The weight and switch forms replace the target's MatMul, which
/// is left writing a dead value that the serving builder prunes; a target whose weight is not read as is by a MatMul
/// (a Gemm, a transposed weight) keeps the activation form.
/// </summary>
public static class ServingWiring
{
    /// <summary>The wiring of <paramref name="choice"/> (null: the injector's activation form for every target).</summary>
    public static TargetWiring? For(ServingFormChoice choice) => choice switch
    {
        ServingFormChoice.Activation => null,
        ServingFormChoice.Weight => (target, _, wire) => Replace(target, wire, Weight),
        _ => (target, _, wire) => Replace(target, wire, Switch),
    };

    /// <summary>The token count above which the weight form is the cheaper one: <c>⌊in·out / (in + out)⌋</c>.</summary>
    public static long CrossoverTokens(LinearModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return (long)module.InFeatures * module.OutFeatures / (module.InFeatures + module.OutFeatures);
    }

    // The target's MatMul x·W (a weight read as is) now writes a dead value; `form` writes its value instead.
    static NodeProto? Replace(FactorValues target, GraphEmitter wire, Action<FactorValues, GraphEmitter, string> form)
    {
        var module = target.Module;
        var node = wire.Graph.Node.First(n => n.Name == module.NodeName); // the injector has located every target
        if (module.OpType != "MatMul" || module.Layout != WeightLayout.InOut || node.Input[1] != module.WeightName)
            return null; // a Gemm, or a weight read through a Transpose: keep the activation form
        string product = node.Output[0];
        node.Output[0] = wire.Names.Fresh($"{product}_replaced");
        form(target, wire, product);
        return node;
    }

    static void Weight(FactorValues target, GraphEmitter wire, string product) =>
        wire.OpNamed("MatMul", [target.Module.InputName, AdapterInjector.AdaptedWeight(target, wire)], [product]);

    static void Switch(FactorValues target, GraphEmitter wire, string product)
    {
        var module = target.Module;
        string tokensTimesIn = wire.Op("Size", [module.InputName]);
        string large = wire.Op("Greater", [tokensTimesIn,
            wire.Scalar(CrossoverTokens(module) * module.InFeatures, (int)TensorProto.Types.DataType.Int64, "crossover")]);
        var weightForm = Branch(wire, "weight_form", b => b.Op("MatMul", [module.InputName, AdapterInjector.AdaptedWeight(target, b)]));
        var activationForm = Branch(wire, "activation_form", b =>
        {
            string down = b.Op("MatMul", [module.InputName, Transposed(b, target.A)]);            // [.., r]
            return b.Op("Add", [b.Op("MatMul", [module.InputName, module.WeightName]), b.Op("MatMul", [down, Transposed(b, target.B)])]);
        });
        wire.OpNamed("If", [large], [product], Graph("then_branch", weightForm), Graph("else_branch", activationForm));
    }

    // Beside its reader, so that ONNX Runtime folds it into the MatMul (a transposed operand).
    static string Transposed(GraphEmitter g, string matrix) => g.Op("Transpose", [matrix], Ints("perm", 1, 0));

    // A branch reading outer values only; its one output is what `body` returns.
    static GraphProto Branch(GraphEmitter wire, string name, Func<GraphEmitter, string> body)
    {
        var graph = new GraphProto { Name = wire.Names.Fresh($"{wire.Scope}/{name}") };
        string output = body(new GraphEmitter(graph, $"{wire.Scope}/{name}", wire.Names));
        graph.Output.Add(new ValueInfoProto
        {
            Name = output,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
        });
        return graph;
    }
}
