using System.Globalization;
using System.Text;

namespace GanSharp.Data;

/// <summary>The outcome of <see cref="LabelConversion.ConvertFolder"/>.</summary>
/// <param name="Files">Label images converted.</param>
/// <param name="LabelNc">The largest index written plus one: the --label-nc to train with.</param>
/// <param name="ColormapPath">The colour table used.</param>
/// <param name="ColormapWritten">Whether the table was built from the colours found (and written) rather than read.</param>
public sealed record ConversionResult(int Files, int LabelNc, string ColormapPath, bool ColormapWritten);

/// <summary>
/// Turns colour-coded label images (each class painted in one RGB colour) into index label maps. The colour ->
/// index table comes from a colormap file (<c>index r g b</c> per line) or, without one, from the distinct colours
/// found, numbered in ascending (r, g, b) order and written next to the output so the numbering is on record.
/// </summary>
public static class LabelConversion
{
    /// <summary>Most colours accepted when the table is inferred from the files.</summary>
    public const int MaxInferredClasses = 1024;

    /// <summary>Reads a colormap: one <c>index r g b</c> per line; blank lines and <c>#</c> comments are skipped.</summary>
    public static Dictionary<int, int> ReadColormap(string path)
    {
        if (!File.Exists(path))
            throw new GanSharpException(ErrorKind.BadInput, $"colormap {path} does not exist: pass a file with one `index r g b` line per class.");
        var map = new Dictionary<int, int>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            string line = raw.Split('#')[0].Trim();
            if (line.Length == 0) continue;
            var parts = line.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 4 || !parts.All(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
                throw new GanSharpException(ErrorKind.BadInput, $"{path} line {lineNo} reads \"{raw.Trim()}\": write `index r g b`, e.g. `3 128 64 128`.");
            int[] v = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            if (v[0] < 0 || v[0] > 65535 || v.Skip(1).Any(c => c is < 0 or > 255))
                throw new GanSharpException(ErrorKind.BadInput, $"{path} line {lineNo} has index {v[0]} or a colour channel outside 0..255: fix the line.");
            int key = Pack((byte)v[1], (byte)v[2], (byte)v[3]);
            if (map.TryGetValue(key, out int existing) && existing != v[0])
                throw new GanSharpException(ErrorKind.BadInput, $"{path} line {lineNo} gives colour ({v[1]}, {v[2]}, {v[3]}) index {v[0]}, but an earlier line gave it {existing}: keep one.");
            map[key] = v[0];
        }
        if (map.Count == 0)
            throw new GanSharpException(ErrorKind.BadInput, $"{path} lists no colours: write one `index r g b` line per class.");
        return map;
    }

    /// <summary>
    /// Converts every PNG in <paramref name="inputDir"/> into a gray index PNG of the same stem in
    /// <paramref name="outputDir"/>. With <paramref name="colormapPath"/> null, the table is built from the colours
    /// present and written to <c>outputDir/colormap.txt</c>.
    /// </summary>
    public static ConversionResult ConvertFolder(string inputDir, string outputDir, string? colormapPath, Action<int, int>? progress = null)
    {
        if (!Directory.Exists(inputDir))
            throw new GanSharpException(ErrorKind.BadInput, $"{inputDir} does not exist: pass the folder of colour label images.");
        var all = Directory.EnumerateFiles(inputDir).Where(p => !Path.GetFileName(p).StartsWith('.')).OrderBy(Path.GetFileName, NaturalSort.Instance).ToList();
        var lossy = all.FirstOrDefault(p => Path.GetExtension(p).ToLowerInvariant() is ".jpg" or ".jpeg");
        if (lossy is not null)
            throw new GanSharpException(ErrorKind.Data, $"{lossy} is a JPEG, whose compression invents colours at region borders: convert from the original PNG labels instead.");
        var files = all.Where(p => Path.GetExtension(p).Equals(".png", StringComparison.OrdinalIgnoreCase)).ToList();
        if (files.Count == 0)
            throw new GanSharpException(ErrorKind.BadInput, $"{inputDir} holds no .png files: pass the folder of colour label images.");

        bool written = colormapPath is null;
        Dictionary<int, int> table;
        if (colormapPath is not null)
            table = ReadColormap(colormapPath);
        else
        {
            var colours = new SortedSet<int>();
            foreach (var f in files)
            {
                var img = ImageIO.ReadRgb(f);
                for (int i = 0; i < img.Pixels.Length; i += 3) colours.Add(Pack(img.Pixels[i], img.Pixels[i + 1], img.Pixels[i + 2]));
                // Real label palettes have tens to a few hundred colours; thousands mean photos or smoothed edges.
                if (colours.Count > MaxInferredClasses)
                    throw new GanSharpException(ErrorKind.Data,
                        $"{f} brings the number of distinct colours to {colours.Count}, above {MaxInferredClasses}: these look like photos or anti-aliased labels, not flat colour labels; check --input, or pass --colormap to map known colours only.");
            }
            table = colours.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);
            colormapPath = Path.Combine(outputDir, "colormap.txt");
            var sb = new StringBuilder("# index r g b, written by gansharp data convert\n");
            foreach (var (c, i) in table.OrderBy(kv => kv.Value).Select(kv => (kv.Key, kv.Value)))
                sb.Append(CultureInfo.InvariantCulture, $"{i} {c >> 16} {(c >> 8) & 255} {c & 255}\n");
            AtomicFile.WriteAllText(colormapPath, sb.ToString());
        }

        int done = 0;
        foreach (var f in files)
        {
            var img = ImageIO.ReadRgb(f);
            var map = new LabelMap(img.Width, img.Height);
            for (int i = 0; i < map.Values.Length; i++)
            {
                int key = Pack(img.Pixels[i * 3], img.Pixels[i * 3 + 1], img.Pixels[i * 3 + 2]);
                if (!table.TryGetValue(key, out int idx))
                    throw new GanSharpException(ErrorKind.Data,
                        $"{f} has colour ({key >> 16}, {(key >> 8) & 255}, {key & 255}) at pixel ({i % img.Width}, {i / img.Width}), which {colormapPath} does not list: add it to the colormap.");
                map.Values[i] = idx;
            }
            LabelIO.WritePng(map, Path.Combine(outputDir, Path.GetFileNameWithoutExtension(f) + ".png"));
            progress?.Invoke(++done, files.Count);
        }
        return new ConversionResult(files.Count, table.Values.Max() + 1, colormapPath, written);
    }

    private static int Pack(byte r, byte g, byte b) => (r << 16) | (g << 8) | b;
}
