namespace VbLoraOrt.Runtime.Data;

/// <summary>
/// One classification or regression row: <c>text</c>, optional <c>text_pair</c>, and the label (a class id, or the
/// regression target), with <see cref="Source"/> = <c>file:line</c> for messages.
/// </summary>
public sealed record TextExample(string Text, string? TextPair, double Label, string Source);

/// <summary>One embedding row: an <c>anchor</c> text and a <c>positive</c> text that should embed close to it.</summary>
public sealed record PairExample(string Anchor, string Positive, string Source);
