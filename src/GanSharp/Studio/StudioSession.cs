using GanSharp.Data;
using GanSharp.Models.Spade;
using GanSharp.Reporting;
using GanSharp.Runs;
using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Studio;

/// <summary>One class of the studio's palette.</summary>
public sealed record StudioClass(int Index, string Name, string Color);

/// <summary>
/// A trained SPADE run held open for the studio: G (and E) loaded once; every picture goes through the path of
/// <c>gansharp test</c> (the same preprocessing, seeding and PNG encoding), so a label map gives the same bytes.
/// </summary>
public sealed class StudioSession : IDisposable
{
    /// <summary>Largest label map the studio accepts on a side; bigger ones are refused before decoding.</summary>
    public const int MaxSide = 2048;

    private readonly object _gate = new();
    private readonly SpadeModel _model;
    private readonly SpadeRunOptions _options;
    private readonly DataOptions _data;

    private StudioSession(SpadeRunOptions options, SpadeModel model, IReadOnlyDictionary<int, (string Name, string Color)>? table)
    {
        _options = options;
        _model = model;
        _data = options.Data with { IsTrain = false, NoFlip = true, SerialBatches = true, NoInstance = options.Model.NoInstance };
        Width = options.Data.CropSize;
        Height = (int)Math.Round(options.Data.CropSize / options.Data.AspectRatio);
        var colours = Visuals.LabelColormap(256);
        StudioClass Class(int i, string fallback) => table is not null && table.TryGetValue(i, out var named)
            ? new StudioClass(i, named.Name, named.Color)
            : new StudioClass(i, fallback, Hex(colours[i]));
        var classes = Enumerable.Range(0, options.Data.LabelNc).Select(i => Class(i, $"class {i}")).ToList();
        if (options.Data.ContainDontcareLabel) classes.Add(Class(255, "don't care"));
        Classes = classes;
    }

    // Names and colours by label value: the table given, else the classes.csv that `gansharp data convert` wrote next
    // to the run's label maps; null (generated names and colours) when neither is there.
    private static Dictionary<int, (string Name, string Color)>? ReadPalette(string? classTable, string labelDir, Action<string> notice)
    {
        string? path = classTable;
        if (path is null && labelDir.Length > 0 && File.Exists(Path.Combine(labelDir, "classes.csv")))
            path = Path.Combine(labelDir, "classes.csv");
        if (path is null) return null;
        var table = new Dictionary<int, (string Name, string Color)>();
        foreach (var (colour, (index, name)) in LabelConversion.ReadClassTable(path))
            table[index] = (name, $"#{colour:x6}");
        notice($"class names and colours from {path}.");
        return table;
    }

    public string Name => _options.Run.Name;

    /// <summary>The run's name escaped for HTML.</summary>
    public string NameHtml => HtmlPage.Escape(Name);

    /// <summary>Canvas size: the run's crop.</summary>
    public int Width { get; }

    public int Height { get; }
    public int LabelNc => _options.Data.LabelNc;
    public bool UseVae => _options.Model.UseVae;
    public IReadOnlyList<StudioClass> Classes { get; }

    /// <summary>Opens run <paramref name="name"/> as <c>gansharp test --name</c> would.</summary>
    /// <param name="classTable">A class table (CSV, JSON or <c>index r g b</c>) naming the classes; by default the run's
    /// <c>classes.csv</c> from <c>gansharp data convert</c>, else generated names and colours.</param>
    public static StudioSession Open(string name, string checkpointsDir, string which, Action<string> notice, string? classTable = null)
    {
        var cli = new SpadeRunOptions
        {
            Data = DataOptions.Create("", "", isTrain: false),
            Model = new SpadeModelOptions(),
            Run = new RunOptions { Name = name, CheckpointsDir = checkpointsDir, WhichEpoch = which },
        };
        var (options, folder, trainedLabels) = SpadeRunner.ResolveForInference(cli, new HashSet<string>(), notice);
        if (options.Data.LabelNc > 255)
            throw new GanSharpException(ErrorKind.Usage,
                $"{folder.Dir} has {options.Data.LabelNc} classes but the studio paints at most 255: use gansharp test for this run.");
        var palette = ReadPalette(classTable, trainedLabels, notice);
        var (model, _) = SpadeRunner.LoadForInference(options, folder, batchStatistics: false, notice);
        return new StudioSession(options, model, palette);
    }

    /// <summary>
    /// A session over a generator built in memory: the studio benchmark times synthesis at sizes no run folder here
    /// holds (random weights cost the same as trained ones). The model is put in eval mode, as a loaded run is.
    /// </summary>
    internal static StudioSession ForModel(SpadeRunOptions options, SpadeModel model)
    {
        model.Train(false);
        return new StudioSession(options, model, null);
    }

    /// <summary>Refuses a value that is not a class of the run, naming the first bad pixel.</summary>
    public void CheckLabels(LabelMap label)
    {
        for (int i = 0; i < label.Values.Length; i++)
        {
            int v = label.Values[i];
            bool ok = v >= 0 && v < LabelNc || v == 255 && _options.Data.ContainDontcareLabel;
            if (!ok)
                throw new GanSharpException(ErrorKind.BadInput,
                    $"label value {v} at ({i % label.Width}, {i / label.Width}) is not a class of this run (0..{LabelNc - 1}"
                    + $"{(_options.Data.ContainDontcareLabel ? " or 255" : "")}): paint with the run's classes.");
        }
    }

    /// <summary>The picture for <paramref name="label"/> as PNG bytes; a style photo (runs with a VAE) or a z seed picks the look.</summary>
    public byte[] Synthesize(LabelMap label, byte[]? styleImage = null, int? zSeed = null)
    {
        CheckLabels(label);
        if ((styleImage is not null || zSeed is not null) && !UseVae)
            throw new GanSharpException(ErrorKind.Usage, $"{Name} was trained without the VAE encoder, so it takes no style image or z seed.");
        // As the test's first image: index 0 of epoch 1, an instance map drawn from the classes when the run has them.
        var sample = SpadeDataset.FromLabelMap(_data, label, _data.NoInstance ? null : label, 0, 1, "the painted label map");
        lock (_gate)
        {
            using var scope = NewDisposeScope();
            var semantics = tensor(sample.Semantics, [1, sample.Semantics.Length / (sample.Width * sample.Height), sample.Height, sample.Width]);
            var style = styleImage is null ? null
                : SpadeRunner.StyleTensor(ImageIO.ReadRgb(styleImage, "the style image"), _data, "the style image");
            // The test's noise for its first image: the run's seed, in a generator of this request's own.
            using var noise = new Generator().manual_seed(_options.Run.Seed);
            Tensor? z = null;
            if (zSeed is int seed)
            {
                using var gen = new Generator().manual_seed(seed);
                z = randn([1, _options.Model.ZDim], generator: gen);
            }
            var fake = _model.Generate(semantics, z, style, noise);
            return ImageIO.EncodePng(Visuals.ToRgb(fake[0].unsqueeze(0)));
        }
    }

    /// <summary>Refuses a style photo that cannot be decoded, before it is kept.</summary>
    public void CheckStyle(byte[] image) => ImageIO.ReadRgb(image, "the style image");

    /// <summary>An uploaded label PNG (gray or palette indices), checked against the run's classes.</summary>
    public LabelMap DecodeLabelPng(byte[] png)
    {
        var (w, h, type, depth) = PngCodec.ReadHeader(png, "the uploaded label map");
        if (w > MaxSide || h > MaxSide)
            throw new GanSharpException(ErrorKind.BadInput, $"the uploaded label map is {w}x{h}, over the studio's {MaxSide} a side: scale it down.");
        if (LabelIO.KindOf(type, depth) == LabelFileKind.Colour)
            throw new GanSharpException(ErrorKind.BadInput,
                "the uploaded label map is a colour PNG, not class indices: convert it with gansharp data convert or export it as gray.");
        var decoded = PngCodec.Decode(png, "the uploaded label map");
        var values = new int[decoded.Width * decoded.Height];
        for (int i = 0; i < values.Length; i++) values[i] = decoded.Samples[i * decoded.Channels];
        var map = new LabelMap(decoded.Width, decoded.Height, values);
        CheckLabels(map);
        return map;
    }

    /// <summary>A label map as an 8-bit gray PNG (the file <c>gansharp test --label-dir</c> reads).</summary>
    public static byte[] EncodeLabelPng(LabelMap label) => PngCodec.EncodeGray(label.Width, label.Height, label.Values, 8);

    public void Dispose() => _model.Dispose();

    private static string Hex((byte R, byte G, byte B) c) => $"#{c.R:x2}{c.G:x2}{c.B:x2}";
}
