using VbLoraOrt.Adapters.Registry;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>The PEFT form of every registered method (a test checks that none is missing).</summary>
public static class PeftForms
{
    /// <summary>Every form, in the registry's order.</summary>
    public static IReadOnlyList<IPeftForm> All => AdapterMethods.PeftForms;

    /// <summary>The form of registry method <paramref name="method"/>.</summary>
    /// <exception cref="InvalidOperationException">The method has no PEFT form (a build error the tests catch).</exception>
    public static IPeftForm ForMethod(string method) =>
        All.FirstOrDefault(f => f.Method == method) ?? throw new InvalidOperationException($"method '{method}' has no PEFT form");

    /// <summary>The form of <paramref name="peftType"/>, or null when no registered method has it.</summary>
    public static IPeftForm? ForPeftType(string peftType) =>
        All.FirstOrDefault(f => f.PeftType == peftType && AdapterMethods.Names.Contains(f.Method));
}
