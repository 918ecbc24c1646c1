namespace VbLoraOrt.Adapters.Peft;

/// <summary>The JSON shape a field of <c>adapter_config.json</c> must have when it is not null.</summary>
public enum PeftFieldKind
{
    /// <summary>A JSON integer (Python <c>int</c>).</summary>
    Integer,

    /// <summary>A JSON number, integer or not (Python <c>int</c> or <c>float</c>).</summary>
    Number,

    /// <summary><c>true</c> or <c>false</c>.</summary>
    Boolean,

    /// <summary>A string.</summary>
    Text,

    /// <summary>Module names: a list of strings, or one string that PEFT treats as a regular expression.</summary>
    ModuleNames,

    /// <summary>Anything (objects and lists this project passes through without interpreting).</summary>
    Any,
}
