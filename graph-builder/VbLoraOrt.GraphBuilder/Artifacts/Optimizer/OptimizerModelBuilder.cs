using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Artifacts.Optimizer;

/// <summary>
/// Builds <c>optimizer_model.onnx</c>: one AdamW step over every trainable tensor, in standard ops only, so it
/// runs next to the parameters on whatever execution provider holds them.
/// </summary>
/// <remarks>
/// Inputs, in order: per parameter group (first appearance in the trainables) <see cref="ArtifactNames.LearningRate"/>
/// and <see cref="ArtifactNames.WeightDecay"/>; <see cref="ArtifactNames.Step"/> (1-based, float); then per trainable
/// p, <see cref="ArtifactNames.Grad"/>(p), <see cref="ArtifactNames.FirstMoment"/>(p), <see cref="ArtifactNames.SecondMoment"/>(p).
/// Outputs: per trainable <see cref="ArtifactNames.Updated"/> of p, m and v; then <see cref="ArtifactNames.GradNorm"/> and
/// <see cref="ArtifactNames.AllFinite"/>. When any gradient element is not finite every output equals its input
/// (<c>Where(all_finite, new, old)</c>), so the caller's state stays the last good one.
/// </remarks>
public static class OptimizerModelBuilder
{
    const string Scope = "adamw";
    const int Float = (int)TensorProto.Types.DataType.Float;
    const int Bool = (int)TensorProto.Types.DataType.Bool;

    /// <summary>Builds the AdamW step graph for <paramref name="trainables"/>.</summary>
    /// <exception cref="ArgumentException">No trainables, a trainable without group, or two contract names that coincide.</exception>
    public static OnnxModel Build(IReadOnlyList<TrainableTensor> trainables, AdamWOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trainables);
        options ??= new AdamWOptions();
        options.Validate();
        CheckTrainables(trainables);

        var model = NewModel(options.Opset);
        var graph = model.Graph;
        var groups = DeclareGroupInputs(graph, trainables);
        graph.Input.Add(ValueInfo(ArtifactNames.Step, Float, []));
        foreach (var t in trainables)
            foreach (string name in StateNames(t.Name))
                graph.Input.Add(ValueInfo(name, Float, t.Shape));

        var emit = new GraphEmitter(graph, Scope);
        var (allFinite, gradNorm) = FiniteCheckBlock.Emit(emit.Nested("finite_check"), trainables.Select(t => ArtifactNames.Grad(t.Name)).ToList());
        var adamW = new AdamWBlock(emit, options, ArtifactNames.Step);
        var groupScalars = groups.ToDictionary(g => g, g => adamW.GroupScalars(ArtifactNames.LearningRate(g), ArtifactNames.WeightDecay(g)));

        foreach (var t in trainables)
        {
            string p = t.Name, m = ArtifactNames.FirstMoment(p), v = ArtifactNames.SecondMoment(p);
            var updated = adamW.Update(p, ArtifactNames.Grad(p), m, v, groupScalars[t.Group]);
            EmitGuardedOutput(emit, allFinite, updated.Param, p, t.Shape);
            EmitGuardedOutput(emit, allFinite, updated.FirstMoment, m, t.Shape);
            EmitGuardedOutput(emit, allFinite, updated.SecondMoment, v, t.Shape);
        }
        emit.OpNamed("Identity", [gradNorm], [ArtifactNames.GradNorm]);
        emit.OpNamed("Identity", [allFinite], [ArtifactNames.AllFinite]);
        graph.Output.Add(ValueInfo(ArtifactNames.GradNorm, Float, []));
        graph.Output.Add(ValueInfo(ArtifactNames.AllFinite, Bool, []));
        return OnnxModel.FromProto(model);
    }

    /// <summary>The per-parameter inputs in graph order: p, its gradient, first and second moment.</summary>
    static string[] StateNames(string param) =>
        [param, ArtifactNames.Grad(param), ArtifactNames.FirstMoment(param), ArtifactNames.SecondMoment(param)];

    static void EmitGuardedOutput(GraphEmitter emit, string allFinite, string updated, string old, long[] shape)
    {
        string output = ArtifactNames.Updated(old);
        emit.OpNamed("Where", [allFinite, updated, old], [output]);
        emit.Graph.Output.Add(ValueInfo(output, Float, shape));
    }

    static List<string> DeclareGroupInputs(GraphProto graph, IReadOnlyList<TrainableTensor> trainables)
    {
        var groups = trainables.Select(t => t.Group).Distinct(StringComparer.Ordinal).ToList();
        foreach (string group in groups)
        {
            graph.Input.Add(ValueInfo(ArtifactNames.LearningRate(group), Float, []));
            graph.Input.Add(ValueInfo(ArtifactNames.WeightDecay(group), Float, []));
        }
        return groups;
    }

    static void CheckTrainables(IReadOnlyList<TrainableTensor> trainables)
    {
        if (trainables.Count == 0)
            throw new ArgumentException("the optimizer needs at least one trainable tensor; none were given.", nameof(trainables));
        // Every input and output name of the contract must be distinct: a trainable named `w_m` would otherwise
        // collide with the first moment of `w`.
        var owner = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ArtifactNames.Step] = "the step input",
            [ArtifactNames.GradNorm] = "the gradient-norm output",
            [ArtifactNames.AllFinite] = "the all-finite output",
        };
        foreach (var t in trainables)
        {
            if (string.IsNullOrEmpty(t.Group))
                throw new ArgumentException($"trainable tensor '{t.Name}' has no parameter group.", nameof(trainables));
            string[] names = [.. StateNames(t.Name), .. StateNames(t.Name).Where(n => n != ArtifactNames.Grad(t.Name)).Select(ArtifactNames.Updated)];
            foreach (string name in names)
                if (!owner.TryAdd(name, $"trainable '{t.Name}'"))
                    throw new ArgumentException(
                        $"optimizer name '{name}' of trainable '{t.Name}' is already used by {owner[name]}; rename one of them.", nameof(trainables));
        }
        foreach (string group in trainables.Select(t => t.Group).Distinct(StringComparer.Ordinal))
            foreach (string name in new[] { ArtifactNames.LearningRate(group), ArtifactNames.WeightDecay(group) })
                if (!owner.TryAdd(name, $"parameter group '{group}'"))
                    throw new ArgumentException($"optimizer input '{name}' of group '{group}' is already used by {owner[name]}.", nameof(trainables));
    }

    static ModelProto NewModel(long opset)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "vblora-graph-builder",
            Graph = new GraphProto { Name = "adamw_step" },
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    static ValueInfoProto ValueInfo(string name, int elementType, long[] shape)
    {
        var dims = new TensorShapeProto();
        foreach (long d in shape)
            dims.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = dims } },
        };
    }
}
