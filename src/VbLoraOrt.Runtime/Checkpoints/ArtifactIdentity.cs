using System.Security.Cryptography;

namespace VbLoraOrt.Runtime.Checkpoints;

/// <summary>
/// The identity a checkpoint records of the artifacts it was trained with: the SHA-256 of the artifacts'
/// manifest, which names every trainable tensor, shape and graph the state belongs to.
/// </summary>
public static class ArtifactIdentity
{
    /// <summary><c>sha256:&lt;hex&gt;</c> of the manifest file at <paramref name="manifestPath"/>.</summary>
    public static string OfManifest(string manifestPath)
    {
        ArgumentNullException.ThrowIfNull(manifestPath);
        using var stream = File.OpenRead(manifestPath);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
