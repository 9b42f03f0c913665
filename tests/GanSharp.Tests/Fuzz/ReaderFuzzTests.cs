using GanSharp.Data;
using GanSharp.Interop;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GanSharp.Tests.Fuzz;

/// <summary>
/// Seeded mutation fuzzing of the readers of user files: every input must be read or refused with a
/// <see cref="GanSharpException"/> that names the file, within its time and allocation budget. Together the tests
/// run 100,000+ inputs (each asserts its own count).
/// </summary>
public sealed class ReaderFuzzTests(ITestOutputHelper output)
{
    private const int PthInputs = 50_000, PngInputs = 40_000, ImageInputs = 12_000, SafeTensorsInputs = 4_000;

    // A reader may allocate a bounded multiple of the file's size (decoded pixels are larger than their
    // compressed bytes) plus a constant; a length field trusted for an allocation shows up as gigabytes.
    private static long Cap(int length) => 16L * 1024 * 1024 + 4096L * length;

    private void Check(FuzzReport report, int expected, double pastHeaderShare)
    {
        output.WriteLine(report.ToString());
        Assert.Equal(expected, report.Inputs);
        Assert.True(report.Failures.Count == 0, report.ToString());
        Assert.True(report.PastHeader >= pastHeaderShare * report.Inputs,
            $"only {report.PastHeader} of {report.Inputs} got past the header\n{report}");
    }

    [Fact]
    public void PthReaderSurvivesMutatedZipAndLegacyCheckpoints()
    {
        var seeds = PthSeed.Build();
        // Every seed reads before it is mutated, so refusals come from the damage.
        foreach (var s in seeds) ReadPth(s.Bytes);
        var bytes = seeds.Select(s => s.Bytes).ToList();
        var report = FuzzHarness.Run("pth", bytes, (r, b) =>
        {
            var seed = seeds[bytes.IndexOf(b)];
            return r.Next(10) switch
            {
                < 4 => seed.With(Pickles.MutateOps(r, r.Next(4) == 0 ? Pickles.MutateOps(r, seed.Pickle) : seed.Pickle)),
                4 => seed.With(Mutate.Several(r, seed.Pickle)),
                5 when seed.StorageCount > 0 => StorageMutant(r, seed),
                6 when !seed.Legacy => ZipTamper.Tamper(r, seed.Bytes),
                _ => Mutate.Several(r, seed.Bytes),
            };
        }, ReadPth, PthPastHeader, Cap, PthInputs, seed: 1);
        Check(report, PthInputs, 0.5);
        Assert.True(report.Successes > 0, "no mutant read successfully: the fuzz never reaches the end of the reader");
    }

    private static byte[] StorageMutant(Random r, PthSeed seed)
    {
        int k = r.Next(seed.StorageCount);
        var data = seed.StorageData(k);
        // Payload bytes changed (read as other numbers), cut short, or grown.
        var changed = r.Next(3) switch { 0 => Mutate.FlipBits(r, data), 1 => Mutate.Truncate(r, data), _ => [.. data, .. new byte[r.Next(1, 9)]] };
        return seed.With(storage: k, storageData: changed);
    }

    private static void ReadPth(byte[] bytes)
    {
        using var ms = new MemoryStream(bytes, writable: false);
        DisposeTensors(PthReader.Read(ms, FuzzHarness.Name + ".pth"), new HashSet<object>(ReferenceEqualityComparer.Instance));
    }

    private static void DisposeTensors(object? o, HashSet<object> seen)
    {
        if (o is null || !seen.Add(o)) return;
        switch (o)
        {
            case Tensor t: t.Dispose(); break;
            case OrderedDict od: foreach (var k in od.Keys) DisposeTensors(od[k], seen); break;
            case Dictionary<object, object?> d: foreach (var v in d.Values) DisposeTensors(v, seen); break;
            case List<object?> l: foreach (var v in l) DisposeTensors(v, seen); break;
            case PickleTuple t: foreach (var v in t.Items) DisposeTensors(v, seen); break;
        }
    }

    /// <summary>Refusals of the container itself (no zip directory, no magic) did not reach the pickle or the storages.</summary>
    private static bool PthPastHeader(GanSharpException e)
    {
        string m = e.Message;
        if (m.Contains("neither a zip-format", StringComparison.Ordinal) || m.Contains("without data.pkl", StringComparison.Ordinal)
            || m.Contains("wrong magic", StringComparison.Ordinal) || m.Contains("legacy protocol", StringComparison.Ordinal))
            return false;
        string? inner = e.InnerException?.StackTrace;
        return inner is null
            || !(inner.Contains("ZipArchive..ctor", StringComparison.Ordinal) || inner.Contains("CentralDirectory", StringComparison.Ordinal));
    }

    [Fact]
    public void PngCodecSurvivesMutatedPngsOfEveryColourTypeAndDepth()
    {
        var seeds = PngSeed.Build();
        foreach (var name in new[] { "gray1.png", "gray16.png", "palette4.png", "palette8.png" })
        {
            var bytes0 = File.ReadAllBytes(Fixtures.Path("data", name));
            var png = PngCodec.Decode(bytes0, name);
            seeds.Add(new PngSeed(png.Width, png.Height, png.BitDepth, png.ColorType, png.Palette, Inflate(bytes0), false, bytes0));
        }
        foreach (var s in seeds) PngCodec.Decode(s.Bytes, "seed.png");
        var bytes = seeds.Select(s => s.Bytes).ToList();
        var report = FuzzHarness.Run("PngCodec", bytes, (r, b) => PngTamper.Mutate(r, seeds[bytes.IndexOf(b)]),
            b => PngCodec.Decode(b, FuzzHarness.Name + ".png"), PngPastHeader, Cap, PngInputs, seed: 2);
        Check(report, PngInputs, 0.4);
        Assert.True(report.Successes > 0);
    }

    private static byte[] Inflate(byte[] png)
    {
        var idat = PngTamper.Chunks(png).Where(c => c.Type == "IDAT").SelectMany(c => c.Data).ToArray();
        using var z = new System.IO.Compression.ZLibStream(new MemoryStream(idat), System.IO.Compression.CompressionMode.Decompress);
        using var o = new MemoryStream();
        z.CopyTo(o);
        return o.ToArray();
    }

    private static bool PngPastHeader(GanSharpException e) =>
        !(e.Message.Contains("bad signature", StringComparison.Ordinal) || e.Message.Contains("IHDR", StringComparison.Ordinal)
          || e.Message.Contains("colour type", StringComparison.Ordinal) || e.Message.Contains("claims a size", StringComparison.Ordinal));

    [Fact]
    public void ImageReaderSurvivesMutatedPngsAndJpegs()
    {
        using var dir = Fixtures.TempDir();
        var pngs = PngSeed.Build().Where(s => s.Type != PngColorType.Palette).ToList();
        var jpegs = new List<byte[]>();
        var rng = new Random(5);
        foreach (var (w, h, q) in new[] { (8, 8, 90), (17, 11, 60), (33, 24, 30) })
        {
            var img = new RgbImage(w, h);
            rng.NextBytes(img.Pixels);
            string path = dir.File($"{w}.jpg");
            ImageIO.WriteJpeg(img, path, q);
            jpegs.Add(File.ReadAllBytes(path));
        }
        var bytes = pngs.Select(s => s.Bytes).Concat(jpegs).ToList();
        foreach (var b in bytes) ImageIO.ReadRgb(b, "seed");
        var report = FuzzHarness.Run("ImageIO", bytes, (r, b) =>
        {
            int i = bytes.IndexOf(b);
            return i < pngs.Count && r.Next(2) == 0 ? PngTamper.Mutate(r, pngs[i]) : Mutate.Several(r, b);
        }, b => ImageIO.ReadRgb(b, FuzzHarness.Name + ".img"), e => !e.Message.Contains("not an image", StringComparison.Ordinal)
            && !e.Message.Contains("claims a size", StringComparison.Ordinal), Cap, ImageInputs, seed: 3);
        Check(report, ImageInputs, 0.4);
    }

    [Fact]
    public void SafeTensorsReaderSurvivesMutatedFiles()
    {
        using var dir = Fixtures.TempDir();
        using var sd = new StateDict();
        sd.Add("w", arange(6, dtype: ScalarType.Float32).reshape(2, 3));
        sd.Add("n", tensor(7L));
        sd.Add("h", ones(2, dtype: ScalarType.BFloat16));
        string path = dir.File("s.safetensors");
        SafeTensors.Write(path, sd, new Dictionary<string, string> { ["format"] = "pt" });
        var seed = File.ReadAllBytes(path);
        int headerEnd = 8 + (int)BitConverter.ToUInt64(seed);
        var report = FuzzHarness.Run("safetensors", [seed], (r, b) =>
        {
            if (r.Next(2) == 0) return Mutate.Several(r, b);
            // Damage the JSON text itself (digits, brackets, names), keeping the length field honest.
            var m = (byte[])b.Clone();
            int at = 8 + r.Next(headerEnd - 8);
            m[at] = (byte)"0123456789-[]{}\",:eE. x"[r.Next(23)];
            return m;
        }, b => SafeTensors.Read(b, FuzzHarness.Name + ".safetensors").Dispose(), e => !e.Message.Contains("header", StringComparison.Ordinal),
            Cap, SafeTensorsInputs, seed: 4);
        Check(report, SafeTensorsInputs, 0.2);
    }
}
