using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Tests.Support;
using static VbLoraOrt.Tests.OnnxAdapters.AdapterModels;

namespace VbLoraOrt.Tests.OnnxAdapters;

/// <summary>
/// Numbers for the serving design, printed to the test log: how long ONNX Runtime takes to load an adapter (from a
/// path, which it memory-maps, and from bytes, which it copies), whether a run copies an active adapter's tensors
/// (a 64 MiB parameter that the model reads one element of), and what loaded adapters cost in resident memory. The
/// assertions check the runs' answers, never the timings (the machine is shared).
/// </summary>
[TestClass]
public sealed class OrtLoraAdapterMeasurements
{
    const int BigElements = 16 << 20; // 64 MiB of float

    public TestContext TestContext { get; set; } = null!;

    static string Folder() => PreparedArtifacts.NewFolder("vblora-ort-adapter-measure");

    static double MedianMicroseconds(int repeats, Action action)
    {
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }

    static string WriteBig(string folder, string name, int elements, float first)
    {
        var values = TinyModels.Random(elements, seed: elements); // not zeros: no page is left untouched by a copy
        values[0] = first;
        values[^1] = -first;
        string path = Path.Combine(folder, name);
        OnnxAdapterFile.Write(path, new OnnxAdapter([OnnxAdapterParameter.Float("big", [elements], values)]));
        return path;
    }

    [TestMethod]
    public void Measure_AdapterLoadTime()
    {
        string folder = Folder();
        string tiny = Path.Combine(folder, "tiny.onnx_adapter");
        OnnxAdapterFile.Write(tiny, new OnnxAdapter(
        [
            OnnxAdapterParameter.Float("lora_A", [In, Rank], TinyModels.Random(In * Rank, 1)),
            OnnxAdapterParameter.Float("lora_B", [Rank, Out], TinyModels.Random(Rank * Out, 2)),
        ]));
        string big = WriteBig(folder, "big.onnx_adapter", BigElements, 1f);
        byte[] tinyBytes = File.ReadAllBytes(tiny), bigBytes = File.ReadAllBytes(big);

        double tinyPath = MedianMicroseconds(500, () => OrtLoraAdapter.Create(tiny, null).Dispose());
        double tinyArray = MedianMicroseconds(500, () => OrtLoraAdapter.Create(tinyBytes, null).Dispose());
        double bigPath = MedianMicroseconds(9, () => OrtLoraAdapter.Create(big, null).Dispose());
        double bigArray = MedianMicroseconds(9, () => OrtLoraAdapter.Create(bigBytes, null).Dispose());
        double ourRead = MedianMicroseconds(500, () => OnnxAdapterFile.Read(tiny));

        TestContext.WriteLine($"OrtLoraAdapter.Create, median: {tinyBytes.Length}-byte adapter from path {tinyPath:F1} µs, from byte[] {tinyArray:F1} µs");
        TestContext.WriteLine($"OrtLoraAdapter.Create, median: {bigBytes.Length / (1 << 20)} MiB adapter from path {bigPath:F1} µs, from byte[] {bigArray:F1} µs");
        TestContext.WriteLine($"OnnxAdapterFile.Read (our validation), median: {tinyBytes.Length}-byte adapter {ourRead:F1} µs");
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    public void Measure_RunTimeWithLargeAdapter_ShowsNoPerRunCopy()
    {
        string folder = Folder();
        using var session = OrtLoraAdapterTests.NewSession(FirstElement());
        using var small = OrtLoraAdapter.Create(WriteBig(folder, "small.onnx_adapter", 64, 2f), null);
        using var big = OrtLoraAdapter.Create(WriteBig(folder, "big.onnx_adapter", BigElements, 3f), null);
        var callerValues = new float[BigElements];
        callerValues[0] = 4f;
        using var callerBig = OrtValue.CreateTensorValueFromMemory(callerValues, [BigElements]);

        double Run(OrtLoraAdapter? adapter, float expected)
        {
            using var options = new RunOptions();
            if (adapter != null)
                options.AddActiveLoraAdapter(adapter);
            IReadOnlyCollection<string> names = adapter == null ? ["big"] : [];
            IReadOnlyCollection<OrtValue> values = adapter == null ? [callerBig] : [];
            return MedianMicroseconds(41, () =>
            {
                using var results = session.Run(options, names, values, ["y"]);
                Assert.AreEqual(expected, results[0].GetTensorDataAsSpan<float>()[0]);
            });
        }

        double smallRun = Run(small, 2f), bigRun = Run(big, 3f), callerRun = Run(null, 4f);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < 5; i++)
            Array.Copy(callerValues, new float[BigElements], BigElements);
        double copy = Stopwatch.GetElapsedTime(start).TotalMicroseconds / 5;

        TestContext.WriteLine($"run y = big[0], median of 41: adapter of 64 floats {smallRun:F1} µs, adapter of 64 MiB {bigRun:F1} µs, " +
                              $"64 MiB fed by the caller {callerRun:F1} µs; one 64 MiB copy (Array.Copy) takes {copy:F0} µs");
        Directory.Delete(folder, recursive: true);
    }

    [TestMethod]
    public void Measure_ResidentMemoryPerLoadedAdapter()
    {
        const int Count = 20, Elements = 1 << 20; // 4 MiB each
        string folder = Folder();
        var paths = Enumerable.Range(0, Count).Select(i => WriteBig(folder, $"a{i}.onnx_adapter", Elements, i + 1)).ToList();
        byte[] buffer = new byte[new FileInfo(paths[0]).Length]; // one array reused, so managed memory does not move
        using var session = OrtLoraAdapterTests.NewSession(FirstElement());

        foreach (var (how, create) in new (string, Func<int, OrtLoraAdapter>)[]
                 {
                     ("path (mapped)", i => OrtLoraAdapter.Create(paths[i], null)),
                     ("byte[] (copied)", i =>
                     {
                         using (var file = File.OpenRead(paths[i]))
                             file.ReadExactly(buffer);
                         return OrtLoraAdapter.Create(buffer, null);
                     }),
                 })
        {
            var adapters = Enumerable.Range(0, Count).Select(create).ToList();
            for (int i = 0; i < Count; i++)
            {
                using var options = new RunOptions();
                options.AddActiveLoraAdapter(adapters[i]);
                using var results = session.Run(options, [], [], ["y"]);
                Assert.AreEqual(i + 1f, results[0].GetTensorDataAsSpan<float>()[0]);
            }
            // What disposing them gives back: the managed heap drifts while they load, not while they are released.
            var held = Resident();
            adapters.ForEach(a => a.Dispose());
            var released = Resident();
            TestContext.WriteLine($"{Count} adapters of {buffer.Length / 1024} KiB from {how}, each loaded and run once, hold per adapter " +
                                  $"{(held.Anon - released.Anon) / Count / 1024} KiB anonymous and {(held.File - released.File) / Count / 1024} KiB file-backed resident memory");
        }
        Directory.Delete(folder, recursive: true);
    }

    // Resident bytes of this process, anonymous (heap: copies) and file-backed (mapped files), from /proc/self/status.
    static (long Anon, long File) Resident()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var kib = File.ReadLines("/proc/self/status")
            .Select(l => l.Split(':', 2))
            .Where(p => p[0] is "RssAnon" or "RssFile")
            .ToDictionary(p => p[0], p => long.Parse(p[1].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
        return (kib["RssAnon"] * 1024, kib["RssFile"] * 1024);
    }
}
