using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.TorchReference;

/// <summary>
/// Makes TorchSharp 0.107.0's native glue load on Debian 12. <c>libLibTorchSharp.so</c> was built with GCC 13 and so
/// requires the symbol version <c>GLIBCXX_3.4.32</c> of <c>libstdc++.so.6</c>; Debian 12 ships GCC 12's libstdc++
/// (up to 3.4.30), and the load fails with "version `GLIBCXX_3.4.32' not found". The only symbol bound to that version
/// is <c>std::ios_base_library_init</c>, which GCC 13's <c>&lt;iostream&gt;</c> names with a bare <c>.globl</c>: no
/// relocation uses it, it only pulls in a libstdc++ that initialises the standard streams itself (with GCC 12's, the
/// <c>ios_base::Init</c> objects of libtorch, built with it, do that). So when loading fails, the copy of the library
/// in this program's folder gets that one version requirement marked weak (<c>VER_FLG_WEAK</c>, which the dynamic
/// loader treats as optional) — after checking that it still versions that one symbol only and that no relocation
/// refers to it, else nothing is changed. The NuGet cache's copy is left alone.
/// </summary>
static class LibTorchSharpLoader
{
    const string Library = "libLibTorchSharp.so", Version = "GLIBCXX_3.4.32", Symbol = "_ZSt21ios_base_library_initv";
    const uint VerNeed = 0x6ffffffe, VerSym = 0x6fffffff, DynSym = 11, Rela = 4;
    const ushort WeakFlag = 0x2;

    /// <summary>Loads the native glue beside the program, weakening the requirement first when it does not load as is.</summary>
    public static void EnsureLoadable(TextWriter log)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return;
        string path = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", Library);
        if (!File.Exists(path) || NativeLibrary.TryLoad(path, out _))
            return;
        byte[] elf = File.ReadAllBytes(path);
        if (WeakenVersion(elf) is { } reason)
        {
            log.WriteLine($"{path}: does not load, and was left as it is: {reason}");
            return;
        }
        AtomicFile.WriteAllBytes(path, elf);
        log.WriteLine($"{path}: marked its requirement {Version} weak (only {Symbol}, unused by any relocation, needs it; this system's libstdc++ is older).");
        if (!NativeLibrary.TryLoad(path, out _))
            log.WriteLine($"{path}: still does not load; TorchSharp's own error follows.");
    }

    // Sets VER_FLG_WEAK on the Version entry of .gnu.version_r; returns why not when the file is not as expected.
    static string? WeakenVersion(byte[] elf)
    {
        if (elf.Length < 64 || BinaryPrimitives.ReadUInt32BigEndian(elf) != 0x7f454c46 || elf[4] != 2 || elf[5] != 1)
            return "not a little-endian 64-bit ELF file";
        var sections = Sections(elf);
        var verneed = sections.FirstOrDefault(s => s.Type == VerNeed);
        var dynsym = sections.FirstOrDefault(s => s.Type == DynSym);
        var versym = sections.FirstOrDefault(s => s.Type == VerSym);
        if (verneed is null || dynsym is null || versym is null)
            return "it has no symbol-version sections";
        var strings = sections[(int)verneed.Link];
        var symbolNames = sections[(int)dynsym.Link];

        long? flagsOffset = null;
        ushort index = 0;
        long entry = verneed.Offset;
        for (int n = 0; n < (int)verneed.Info; n++)
        {
            long aux = entry + U32(elf, entry + 8);
            for (int a = 0; a < U16(elf, entry + 2); a++)
            {
                if (Name(elf, strings.Offset + U32(elf, aux + 8)) == Version)
                    (flagsOffset, index) = (aux + 4, U16(elf, aux + 6));
                aux += U32(elf, aux + 12);
            }
            entry += U32(elf, entry + 12);
        }
        if (flagsOffset is not long offset)
            return $"it does not require {Version}";

        int symbols = (int)(dynsym.Size / 24);
        var versioned = Enumerable.Range(0, symbols).Where(i => (U16(elf, versym.Offset + 2L * i) & 0x7fff) == index).ToList();
        if (versioned.Count != 1 || Name(elf, symbolNames.Offset + U32(elf, dynsym.Offset + 24L * versioned[0])) != Symbol)
            return $"{Version} versions other symbols than {Symbol}";
        foreach (var rela in sections.Where(s => s.Type == Rela && s.Link == sections.IndexOf(dynsym)))
            for (long r = rela.Offset; r < rela.Offset + rela.Size; r += 24)
                if ((long)(BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)r + 8)) >> 32) == versioned[0])
                    return $"a relocation refers to {Symbol}";
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan((int)offset), (ushort)(U16(elf, offset) | WeakFlag));
        return null;
    }

    sealed record Section(uint Type, long Offset, long Size, uint Link, uint Info);

    static List<Section> Sections(byte[] elf)
    {
        long table = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(0x28));
        int size = U16(elf, 0x3a), count = U16(elf, 0x3c);
        return Enumerable.Range(0, count).Select(i => table + (long)i * size).Select(h => new Section(
            U32(elf, h + 4), (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)h + 24)),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)h + 32)), U32(elf, h + 40), U32(elf, h + 44))).ToList();
    }

    static ushort U16(byte[] b, long at) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)at));

    static uint U32(byte[] b, long at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)at));

    static string Name(byte[] b, long at) => Encoding.ASCII.GetString(b, (int)at, Array.IndexOf(b, (byte)0, (int)at) - (int)at);
}
