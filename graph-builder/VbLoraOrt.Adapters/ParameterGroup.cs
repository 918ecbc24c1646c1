using VbLoraOrt.Adapters.Registry;

namespace VbLoraOrt.Adapters;

/// <summary>
/// A parameter group of the optimizer: the trainable tensors that share one learning rate and weight decay. Each
/// method declares its groups; the task head is the group every artifact folder has (<see cref="AdapterMethods.HeadGroup"/>).
/// </summary>
/// <param name="Name">Group name as trainables carry it (e.g. <c>bank</c>); <c>train --lr NAME=VALUE</c> sets its rate.</param>
/// <param name="DefaultLearningRate">The learning rate when the user gives none.</param>
/// <param name="Description">What the group holds, for help.</param>
public sealed record ParameterGroup(string Name, float DefaultLearningRate, string Description);
