using GanSharp.Data;

namespace GanSharp.Tests.Data;

/// <summary>A temporary folder per test, deleted afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "gansharp-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name)
    {
        string p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(p);
        return p;
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Fixture
{
    public static string Data(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "data", name);
}

/// <summary>Writes small data sets whose photo colours encode their labels, so alignment can be checked exactly.</summary>
internal static class TinyData
{
    /// <summary>Photo colour for a pixel: R = class * 20, G = x, B = y (mod 256).</summary>
    public static (byte, byte, byte) Encode(int cls, int x, int y) => ((byte)(cls * 20), (byte)(x % 256), (byte)(y % 256));

    /// <summary>Writes n pairs of w x h with classes 0..classes-1 in 4x4 blocks, and instance = class * 7 + 1.</summary>
    public static DataOptions Write(TempDir dir, int n, int w, int h, int classes = 5, bool instances = true, int seed = 3)
    {
        string labels = dir.Sub("label"), images = dir.Sub("img"), inst = dir.Sub("inst");
        for (int i = 0; i < n; i++)
        {
            var rng = new DeterministicRng((ulong)(seed * 1000 + i));
            var map = new LabelMap(w, h);
            var im = new LabelMap(w, h);
            var photo = new RgbImage(w, h);
            var blockClass = new int[(w + 3) / 4, (h + 3) / 4];
            for (int bx = 0; bx < blockClass.GetLength(0); bx++)
                for (int by = 0; by < blockClass.GetLength(1); by++)
                    blockClass[bx, by] = rng.NextInclusive(0, classes - 1);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int c = blockClass[x / 4, y / 4];
                    map[x, y] = c;
                    im[x, y] = c * 7 + 1;
                    photo[x, y] = Encode(c, x, y);
                }
            string stem = $"s{i}";
            LabelIO.WritePng(map, Path.Combine(labels, stem + ".png"));
            LabelIO.WritePng(im, Path.Combine(inst, stem + ".png"));
            ImageIO.WritePng(photo, Path.Combine(images, stem + ".png"));
        }
        return DataOptions.Create(labels, images, isTrain: true, instances ? inst : null) with { LabelNc = classes };
    }
}
