namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>
/// VeRA's names: trainable tensors, their parameter group, and the adapter-file keys as PEFT's
/// <c>get_peft_model_state_dict</c> names them (adapter name removed).
/// </summary>
public static class VeraNames
{
    /// <summary>λ_d of module <paramref name="path"/>: <c>[r]</c>, scales the rows of the sliced shared A.</summary>
    public static string LambdaD(string path) => $"vera_lambda_d.{path}";

    /// <summary>λ_b of module <paramref name="path"/>: <c>[out]</c>, scales the rows of the sliced shared B.</summary>
    public static string LambdaB(string path) => $"vera_lambda_b.{path}";

    /// <summary>Group of every λ_d and λ_b.</summary>
    public const string Group = "lambda";

    /// <summary>Graph constant holding the shared A <c>[r, max_in]</c>.</summary>
    public const string SharedA = "vera_A";

    /// <summary>Graph constant holding the shared B <c>[max_out, r]</c>.</summary>
    public const string SharedB = "vera_B";

    /// <summary>The trainable <c>λ_b [out]</c> of module <paramref name="path"/>, F32.</summary>
    public static string StoredLambdaB(string path) => $"base_model.model.{path}.vera_lambda_b";

    /// <summary>The trainable <c>λ_d [r]</c> of module <paramref name="path"/>, F32.</summary>
    public static string StoredLambdaD(string path) => $"base_model.model.{path}.vera_lambda_d";

    /// <summary>The shared <c>vera_A [r, max_in]</c>, saved only when <c>save_projection</c> is true (PEFT's default).</summary>
    public const string StoredA = "base_model.vera_A";

    /// <summary>The shared <c>vera_B [max_out, r]</c>, saved only when <c>save_projection</c> is true.</summary>
    public const string StoredB = "base_model.vera_B";
}
