using System.Globalization;
using System.Text;

namespace GanSharp.Data;

/// <summary>The outcome of <see cref="LabelConversion.ConvertFolder"/>.</summary>
/// <param name="Files">Label images converted.</param>
/// <param name="LabelNc">The largest index written plus one: the --label-nc to train with.</param>
/// <param name="ColormapPath">The colour table used.</param>
/// <param name="ColormapWritten">Whether the table was built from the colours found (and written) rather than read.</param>
public sealed record ConversionResult(int Files, int LabelNc, string ColormapPath, bool ColormapWritten)
{
    /// <summary>The class table written next to the output (<c>name,r,g,b,index</c>).</summary>
    public string ClassesPath { get; init; } = "";

    /// <summary>Outputs left as they were because an earlier run made them from the same input and table.</summary>
    public int Skipped { get; init; }

    /// <summary>Colours not in the table, most pixels first (mapped to 255 when asked, else the run failed).</summary>
    public IReadOnlyList<UnknownColour> Unknown { get; init; } = [];
}

/// <summary>A colour missing from the class table: where it occurs and how often.</summary>
public sealed record UnknownColour(int Key, long Pixels, IReadOnlyList<(string File, int X, int Y)> FirstFiles)
{
    /// <summary>Files listed per colour.</summary>
    public const int ListedFiles = 3;

    public (byte R, byte G, byte B) Rgb => ((byte)(Key >> 16), (byte)(Key >> 8), (byte)Key);

    internal UnknownColour Add(long pixels, string file, int x, int y) =>
        this with { Pixels = Pixels + pixels, FirstFiles = FirstFiles.Count >= ListedFiles ? FirstFiles : [.. FirstFiles, (file, x, y)] };
}

/// <summary>Settings of <see cref="LabelConversion.Convert"/>.</summary>
public sealed record ConversionOptions
{
    public required string InputDir { get; init; }
    public required string OutputDir { get; init; }

    /// <summary>Class table (CSV <c>name,r,g,b</c>, JSON, or <c>index r g b</c> text); null infers it from the colours.</summary>
    public string? ClassTable { get; init; }

    /// <summary>Map colours missing from the table to 255 (don't care) instead of failing.</summary>
    public bool UnknownTo255 { get; init; }
}

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
                throw new GanSharpException(ErrorKind.BadInput,
                    $"{path} line {lineNo} reads \"{raw.Trim()}\": write `index r g b`, e.g. `3 128 64 128`.");
            int[] v = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            if (v[0] < 0 || v[0] > 65535 || v.Skip(1).Any(c => c is < 0 or > 255))
                throw new GanSharpException(ErrorKind.BadInput,
                    $"{path} line {lineNo} has index {v[0]} or a colour channel outside 0..255: fix the line.");
            int key = Pack((byte)v[1], (byte)v[2], (byte)v[3]);
            if (map.TryGetValue(key, out int existing) && existing != v[0])
                throw new GanSharpException(ErrorKind.BadInput,
                    $"{path} line {lineNo} gives colour ({v[1]}, {v[2]}, {v[3]}) index {v[0]}, but an earlier line gave it {existing}: keep one.");
            map[key] = v[0];
        }
        if (map.Count == 0)
            throw new GanSharpException(ErrorKind.BadInput, $"{path} lists no colours: write one `index r g b` line per class.");
        return map;
    }

    /// <summary>
    /// Reads a class table: CSV with a <c>name,r,g,b</c> header (CamVid's <c>class_dict.csv</c>; the row order is the
    /// index), JSON (an array of <c>{"name", "r", "g", "b"}</c> objects, optionally with <c>"index"</c>), or the
    /// <c>index r g b</c> text format of <see cref="ReadColormap"/>. Returns packed colour -> (index, name).
    /// </summary>
    public static Dictionary<int, (int Index, string Name)> ReadClassTable(string path)
    {
        if (!File.Exists(path))
            throw new GanSharpException(ErrorKind.BadInput,
                $"class table {path} does not exist: pass a CSV (name,r,g,b), JSON or `index r g b` file.");
        string ext = Path.GetExtension(path).ToLowerInvariant();
        var result = new Dictionary<int, (int, string)>();
        void Add(int index, string name, int r, int g, int b, string where)
        {
            if (r is < 0 or > 255 || g is < 0 or > 255 || b is < 0 or > 255)
                throw new GanSharpException(ErrorKind.BadInput, $"{path} {where} has a colour channel outside 0..255: fix the entry.");
            int key = Pack((byte)r, (byte)g, (byte)b);
            if (result.TryGetValue(key, out var existing) && existing.Item1 != index)
                throw new GanSharpException(ErrorKind.BadInput,
                    $"{path} {where} gives colour ({r}, {g}, {b}) to '{name}', but '{existing.Item2}' already has it: keep one.");
            result[key] = (index, name);
        }
        if (ext == ".csv")
        {
            var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToList();
            var header = lines.Count == 0 ? [] : lines[0].Split(',').Select(h => h.Trim().ToLowerInvariant()).ToArray();
            int ni = Array.IndexOf(header, "name"), ri = Array.IndexOf(header, "r"), gi = Array.IndexOf(header, "g"), bi = Array.IndexOf(header, "b");
            if (ni < 0 || ri < 0 || gi < 0 || bi < 0)
                throw new GanSharpException(ErrorKind.BadInput, $"{path} needs a header line `name,r,g,b` (as CamVid's class_dict.csv): add it.");
            for (int k = 1; k < lines.Count; k++)
            {
                var f = lines[k].Split(',').Select(x => x.Trim()).ToArray();
                if (f.Length < header.Length || !int.TryParse(f[ri], CultureInfo.InvariantCulture, out int r)
                    || !int.TryParse(f[gi], CultureInfo.InvariantCulture, out int g) || !int.TryParse(f[bi], CultureInfo.InvariantCulture, out int b))
                    throw new GanSharpException(ErrorKind.BadInput,
                        $"{path} line {k + 1} reads \"{lines[k]}\": write `name,r,g,b`, e.g. `Road,128,64,128`.");
                Add(k - 1, f[ni], r, g, b, $"line {k + 1}");
            }
        }
        else if (ext == ".json")
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
                int k = 0;
                foreach (var e in doc.RootElement.EnumerateArray())
                {
                    int index = e.TryGetProperty("index", out var ie) ? ie.GetInt32() : k;
                    Add(index, e.GetProperty("name").GetString() ?? $"class {index}", e.GetProperty("r").GetInt32(), e.GetProperty("g").GetInt32(),
                        e.GetProperty("b").GetInt32(), $"entry {k}");
                    k++;
                }
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
            {
                throw new GanSharpException(ErrorKind.BadInput,
                    $"{path} is not an array of {{\"name\", \"r\", \"g\", \"b\"}} objects ({e.Message}): fix the JSON.");
            }
        }
        else
            foreach (var kv in ReadColormap(path)) result[kv.Key] = (kv.Value, $"class {kv.Value}");
        if (result.Count == 0)
            throw new GanSharpException(ErrorKind.BadInput, $"{path} lists no classes: add one entry per class.");
        return result;
    }

    /// <summary>Converts with default settings; see <see cref="Convert"/>.</summary>
    public static ConversionResult ConvertFolder(string inputDir, string outputDir, string? colormapPath, Action<int, int>? progress = null) =>
        Convert(new ConversionOptions { InputDir = inputDir, OutputDir = outputDir, ClassTable = colormapPath }, progress);

    /// <summary>
    /// Converts every PNG in the input folder into a gray index PNG of the same stem in the output folder, in
    /// parallel. Without a class table, the table is built from the colours present and written to
    /// <c>colormap.txt</c>. The table is always written as <c>classes.csv</c> next to the output so later verbs can
    /// name classes. Outputs newer than their input under an unchanged table are skipped, so a stopped run resumes.
    /// Colours missing from the table fail the run with their pixel counts and first files, unless
    /// <see cref="ConversionOptions.UnknownTo255"/> maps them to don't-care.
    /// </summary>
    public static ConversionResult Convert(ConversionOptions options, Action<int, int>? progress = null)
    {
        var files = ColourLabelFiles(options.InputDir, options.OutputDir);
        Directory.CreateDirectory(options.OutputDir);
        bool written = options.ClassTable is null;
        var (table, colormapPath) = options.ClassTable is not null
            ? (ReadClassTable(options.ClassTable), options.ClassTable)
            : InferTable(files, options.OutputDir);
        var (classesPath, sameTable) = WriteClassesCsv(table, options.OutputDir);
        var (unknowns, skipped) = ConvertFiles(options, files, table, sameTable, progress);
        if (unknowns.Count > 0 && !options.UnknownTo255)
        {
            var u0 = unknowns[0];
            var (file, x, y) = u0.FirstFiles.OrderBy(t => Path.GetFileName(t.File), NaturalSort.Instance).First();
            throw new GanSharpException(ErrorKind.Data,
                $"{unknowns.Count} colours are not in {colormapPath}, the most frequent ({u0.Key >> 16}, {(u0.Key >> 8) & 255}, {u0.Key & 255}) on "
                    + $"{u0.Pixels} pixels, first {file} at pixel ({x}, {y}): add them to the table, or pass --unknown-to-255 to mark them "
                        + $"don't-care.");
        }
        int labelNc = table.Values.Max(v => v.Index) + 1;
        return new ConversionResult(files.Count, labelNc, colormapPath, written)
        {
            ClassesPath = classesPath,
            Skipped = skipped,
            Unknown = unknowns,
        };
    }

    // The PNG labels of the input folder in natural order, refusing JPEGs (their compression invents colours).
    private static List<string> ColourLabelFiles(string inputDir, string outputDir)
    {
        if (!Directory.Exists(inputDir))
            throw new GanSharpException(ErrorKind.BadInput, $"{inputDir} does not exist: pass the folder of colour label images.");
        if (Path.GetFullPath(inputDir).TrimEnd('/') == Path.GetFullPath(outputDir).TrimEnd('/'))
            throw new GanSharpException(ErrorKind.Usage,
                $"--output {outputDir} is the input folder: write the index maps to another folder so the colour labels are kept.");
        var all = Directory.EnumerateFiles(inputDir).Where(p => !Path.GetFileName(p).StartsWith('.')).OrderBy(Path.GetFileName, NaturalSort.Instance)
            .ToList();
        var lossy = all.FirstOrDefault(p => Path.GetExtension(p).ToLowerInvariant() is ".jpg" or ".jpeg");
        if (lossy is not null)
            throw new GanSharpException(ErrorKind.Data,
                $"{lossy} is a JPEG, whose compression invents colours at region borders: convert from the original PNG labels instead.");
        var files = all.Where(p => Path.GetExtension(p).Equals(".png", StringComparison.OrdinalIgnoreCase)).ToList();
        if (files.Count == 0)
            throw new GanSharpException(ErrorKind.BadInput, $"{inputDir} holds no .png files: pass the folder of colour label images.");
        return files;
    }

    // Without a class table: the colours present, numbered in (r, g, b) order, written to <output>/colormap.txt.
    private static (Dictionary<int, (int Index, string Name)> Table, string Path) InferTable(List<string> files, string outputDir)
    {
        var colours = new SortedSet<int>();
        foreach (var f in files)
        {
            var img = ImageIO.ReadRgb(f);
            for (int i = 0; i < img.Pixels.Length; i += 3) colours.Add(Pack(img.Pixels[i], img.Pixels[i + 1], img.Pixels[i + 2]));
            // Real label palettes have tens to a few hundred colours; thousands mean photos or smoothed edges.
            if (colours.Count > MaxInferredClasses)
                throw new GanSharpException(ErrorKind.Data,
                    $"{f} brings the number of distinct colours to {colours.Count}, above {MaxInferredClasses}: these look like photos or "
                        + $"anti-aliased labels, not flat colour labels; check --input, or pass --colormap to map known colours only.");
        }
        Dictionary<int, (int Index, string Name)> table = colours.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => (x.i, $"class {x.i}"));
        string colormapPath = Path.Combine(outputDir, "colormap.txt");
        var sb = new StringBuilder("# index r g b, written by gansharp data convert\n");
        foreach (var (c, i) in table.OrderBy(kv => kv.Value.Index).Select(kv => (kv.Key, kv.Value.Index)))
            sb.Append(CultureInfo.InvariantCulture, $"{i} {c >> 16} {(c >> 8) & 255} {c & 255}\n");
        AtomicFile.WriteAllText(colormapPath, sb.ToString());
        return (table, colormapPath);
    }

    // classes.csv names the classes for later verbs; outputs of an earlier run are only reused under the same table.
    private static (string Path, bool SameTable) WriteClassesCsv(Dictionary<int, (int Index, string Name)> table, string outputDir)
    {
        var csv = new StringBuilder("name,r,g,b,index\n");
        foreach (var kv in table.OrderBy(kv => kv.Value.Index))
            csv.Append(CultureInfo.InvariantCulture,
                $"{kv.Value.Name.Replace(',', ' ')},{kv.Key >> 16},{(kv.Key >> 8) & 255},{kv.Key & 255},{kv.Value.Index}\n");
        string classesPath = Path.Combine(outputDir, "classes.csv");
        bool sameTable = File.Exists(classesPath) && File.ReadAllText(classesPath) == csv.ToString();
        AtomicFile.WriteAllText(classesPath, csv.ToString());
        return (classesPath, sameTable);
    }

    // Converts the files in parallel; returns the colours missing from the table (most pixels first) and the files skipped.
    private static (List<UnknownColour> Unknowns, int Skipped) ConvertFiles(ConversionOptions options, List<string> files,
        Dictionary<int, (int Index, string Name)> table, bool sameTable, Action<int, int>? progress)
    {
        var lookup = table.ToDictionary(kv => kv.Key, kv => kv.Value.Index);
        var unknown = new System.Collections.Concurrent.ConcurrentDictionary<int, UnknownColour>();
        int done = 0, skipped = 0;
        Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, f =>
        {
            string target = Path.Combine(options.OutputDir, Path.GetFileNameWithoutExtension(f) + ".png");
            if (sameTable && File.Exists(target) && File.GetLastWriteTimeUtc(target) >= File.GetLastWriteTimeUtc(f))
            {
                Interlocked.Increment(ref skipped);
                progress?.Invoke(Interlocked.Increment(ref done), files.Count);
                return;
            }
            var img = ImageIO.ReadRgb(f);
            var (map, missing) = Index(img, lookup);
            if (missing is not null)
                foreach (var (key, m) in missing)
                    unknown.AddOrUpdate(key, _ => new UnknownColour(key, m.Count, [(f, m.FirstPixel % img.Width, m.FirstPixel / img.Width)]),
                        (_, u) => u.Add(m.Count, f, m.FirstPixel % img.Width, m.FirstPixel / img.Width));
            // A file with unknown colours is only written when they are meant to become don't-care.
            if (missing is null || options.UnknownTo255) LabelIO.WritePng(map, target);
            progress?.Invoke(Interlocked.Increment(ref done), files.Count);
        });
        return (unknown.Values.OrderByDescending(u => u.Pixels).ThenBy(u => u.Key).ToList(), skipped);
    }

    // One colour label image as indices; colours missing from the lookup become 255, counted with their first pixel.
    private static (LabelMap Map, Dictionary<int, (long Count, int FirstPixel)>? Missing) Index(RgbImage img, Dictionary<int, int> lookup)
    {
        var map = new LabelMap(img.Width, img.Height);
        Dictionary<int, (long Count, int FirstPixel)>? missing = null;
        for (int i = 0; i < map.Values.Length; i++)
        {
            int key = Pack(img.Pixels[i * 3], img.Pixels[i * 3 + 1], img.Pixels[i * 3 + 2]);
            if (lookup.TryGetValue(key, out int idx)) map.Values[i] = idx;
            else
            {
                missing ??= new Dictionary<int, (long, int)>();
                missing[key] = missing.TryGetValue(key, out var m) ? (m.Count + 1, m.FirstPixel) : (1, i);
                map.Values[i] = 255;
            }
        }
        return (map, missing);
    }

    /// <summary>
    /// Turns colour-coded instance images (one colour per object) into integer id maps (16-bit PNG): black is 0
    /// (background) and the other colours of each image get 1, 2, ... in ascending (r, g, b) order, so ids are
    /// stable across runs. SPADE only needs ids that differ between neighbouring objects.
    /// </summary>
    public static int ConvertInstanceFolder(string inputDir, string outputDir, Action<int, int>? progress = null)
    {
        if (!Directory.Exists(inputDir))
            throw new GanSharpException(ErrorKind.BadInput, $"{inputDir} does not exist: pass the folder of colour instance images.");
        if (Path.GetFullPath(inputDir).TrimEnd('/') == Path.GetFullPath(outputDir).TrimEnd('/'))
            throw new GanSharpException(ErrorKind.Usage, $"--instance-output {outputDir} is the input folder: write the id maps to another folder.");
        var files = Directory.EnumerateFiles(inputDir).Where(p => Path.GetExtension(p).Equals(".png", StringComparison.OrdinalIgnoreCase))
            .OrderBy(Path.GetFileName, NaturalSort.Instance).ToList();
        Directory.CreateDirectory(outputDir);
        int done = 0;
        Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, f =>
        {
            var img = ImageIO.ReadRgb(f);
            var keys = new int[img.Width * img.Height];
            for (int i = 0; i < keys.Length; i++) keys[i] = Pack(img.Pixels[i * 3], img.Pixels[i * 3 + 1], img.Pixels[i * 3 + 2]);
            var ids = keys.Where(k => k != 0).Distinct().Order().Select((k, i) => (k, i + 1)).ToDictionary(t => t.k, t => t.Item2);
            ids[0] = 0;
            var map = new LabelMap(img.Width, img.Height, keys.Select(k => ids[k]).ToArray());
            LabelIO.WritePng(map, Path.Combine(outputDir, Path.GetFileNameWithoutExtension(f) + ".png"));
            progress?.Invoke(Interlocked.Increment(ref done), files.Count);
        });
        return files.Count;
    }

    private static int Pack(byte r, byte g, byte b) => (r << 16) | (g << 8) | b;
}
