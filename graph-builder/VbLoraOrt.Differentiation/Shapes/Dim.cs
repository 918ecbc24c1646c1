using System.Globalization;

namespace VbLoraOrt.Differentiation.Shapes;

/// <summary>
/// One tensor dimension as far as the graph tells: a known size, a named symbol (a <c>dim_param</c> such as
/// <c>batch</c>, the same size wherever the name appears), or unknown.
/// </summary>
public readonly record struct Dim
{
    Dim(long? value, string? symbol)
    {
        Value = value;
        Symbol = symbol;
    }

    /// <summary>The size, when known.</summary>
    public long? Value { get; }

    /// <summary>The symbol, when the size is only known by name.</summary>
    public string? Symbol { get; }

    /// <summary>An unknown dimension.</summary>
    public static Dim Unknown => default;

    /// <summary>A known size.</summary>
    public static Dim Of(long value) => new(value, null);

    /// <summary>A named size.</summary>
    public static Dim Named(string symbol) => new(null, symbol ?? throw new ArgumentNullException(nameof(symbol)));

    /// <summary>True when the size is a known number.</summary>
    public bool IsStatic => Value.HasValue;

    /// <summary>True when the size is known to be 1.</summary>
    public bool IsOne => Value == 1;

    /// <summary>True only when both are the same number or the same symbol; unknown equals nothing.</summary>
    public bool SameAs(Dim other) =>
        (Value.HasValue && Value == other.Value) || (Symbol != null && Symbol == other.Symbol);

    /// <inheritdoc />
    public override string ToString() =>
        Value?.ToString(CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}
