namespace GanSharp.Data;

/// <summary>Settings of <see cref="SyntheticDataset.Generate"/>.</summary>
public sealed record SyntheticOptions
{
    public int TrainCount { get; init; } = 32;
    public int ValCount { get; init; } = 8;
    public int Width { get; init; } = 320;
    public int Height { get; init; } = 240;
    public int Seed { get; init; } = 1;

    /// <summary>Also write instance maps (train_inst, val_inst).</summary>
    public bool WithInstances { get; init; } = true;
}

/// <summary>Where a generated data set was written.</summary>
public sealed record SyntheticDatasetInfo(
    string Root,
    string TrainLabelDir,
    string TrainImageDir,
    string? TrainInstanceDir,
    string ValLabelDir,
    string ValImageDir,
    string? ValInstanceDir,
    int LabelNc)
{
    /// <summary>Data options for training on the generated set, with the reference's train defaults otherwise.</summary>
    public DataOptions TrainOptions() => DataOptions.Create(TrainLabelDir, TrainImageDir, isTrain: true, TrainInstanceDir) with { LabelNc = LabelNc };

    /// <summary>Data options for testing on the validation split.</summary>
    public DataOptions ValOptions() => DataOptions.Create(ValLabelDir, ValImageDir, isTrain: false, ValInstanceDir) with { LabelNc = LabelNc };
}

/// <summary>
/// A deterministic toy landscape data set: sky, sun, mountains, grass, road, buildings and trees drawn as simple
/// shapes, each painted with its own colour and texture so that label -> photo is learnable, and instance maps that
/// give every building and tree its own id (class * 1000 + k, Cityscapes style, hence 16-bit PNG).
/// </summary>
public static class SyntheticDataset
{
    /// <summary>Class names, indexed by label value.</summary>
    public static readonly IReadOnlyList<string> ClassNames = ["sky", "sun", "mountain", "grass", "road", "building", "tree"];

    /// <summary>Number of classes (the --label-nc to train with).</summary>
    public static int ClassCount => ClassNames.Count;

    private const int Sky = 0, Sun = 1, Mountain = 2, Grass = 3, Road = 4, Building = 5, Tree = 6;

    private static readonly (byte R, byte G, byte B)[] BaseColour =
    [
        (110, 160, 230), (250, 220, 80), (120, 110, 120), (70, 150, 60), (90, 90, 95), (170, 90, 70), (30, 90, 35),
    ];

    /// <summary>
    /// Writes <c>train_label, train_img, train_inst, val_label, val_img, val_inst</c> under <paramref name="root"/>
    /// (the reference's folder names). The same options always give the same bytes.
    /// </summary>
    public static SyntheticDatasetInfo Generate(string root, SyntheticOptions options)
    {
        if (options.Width < 8 || options.Height < 8)
            throw new GanSharpException(ErrorKind.Usage,
                $"synthetic images of {options.Width}x{options.Height} are too small to draw on: use at least 8x8.");
        if (options.TrainCount < 1 || options.ValCount < 0)
            throw new GanSharpException(ErrorKind.Usage,
                $"synthetic counts {options.TrainCount} (train) and {options.ValCount} (val) are invalid: use at least 1 training image.");
        var info = new SyntheticDatasetInfo(
            root,
            Path.Combine(root, "train_label"), Path.Combine(root, "train_img"), options.WithInstances ? Path.Combine(root, "train_inst") : null,
            Path.Combine(root, "val_label"), Path.Combine(root, "val_img"), options.WithInstances ? Path.Combine(root, "val_inst") : null,
            ClassCount);
        foreach (var d in new[] { info.TrainLabelDir, info.TrainImageDir, info.TrainInstanceDir, info.ValLabelDir, info.ValImageDir,
            info.ValInstanceDir })
            if (d is not null) Directory.CreateDirectory(d);

        var jobs = Enumerable.Range(0, options.TrainCount).Select(i => (Split: 0, Index: i))
            .Concat(Enumerable.Range(0, options.ValCount).Select(i => (Split: 1, Index: i)));
        Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, job =>
        {
            var rng = DeterministicRng.For(options.Seed, stream: 0x5CE7E, job.Split, job.Index);
            var (label, inst, photo) = Draw(options.Width, options.Height, rng);
            string stem = $"{(job.Split == 0 ? "train" : "val")}_{job.Index:D4}";
            LabelIO.WritePng(label, Path.Combine(job.Split == 0 ? info.TrainLabelDir : info.ValLabelDir, stem + ".png"));
            ImageIO.WritePng(photo, Path.Combine(job.Split == 0 ? info.TrainImageDir : info.ValImageDir, stem + ".png"));
            string? instDir = job.Split == 0 ? info.TrainInstanceDir : info.ValInstanceDir;
            if (instDir is not null) LabelIO.WritePng(inst, Path.Combine(instDir, stem + ".png"));
        });
        return info;
    }

    /// <summary>Draws one scene: label map, instance map and photo.</summary>
    public static (LabelMap Label, LabelMap Instance, RgbImage Photo) Draw(int w, int h, DeterministicRng rng)
    {
        var label = new LabelMap(w, h);
        var inst = new LabelMap(w, h);
        int horizon = (int)(h * (0.35 + 0.2 * rng.NextDouble()));

        // Sky above the horizon, grass below.
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                label[x, y] = y < horizon ? Sky : Grass;

        // The drawing order is the random stream's order: changing it changes every scene of a seed.
        DrawMountains(label, horizon, rng);
        DrawSun(label, horizon, rng);
        DrawRoad(label, horizon, rng);
        DrawBuildings(label, inst, horizon, rng);
        DrawTrees(label, inst, horizon, rng);

        // Stuff classes carry their class id as instance id, as Cityscapes does.
        for (int i = 0; i < inst.Values.Length; i++)
            if (label.Values[i] is not (Building or Tree)) inst.Values[i] = label.Values[i];

        return (label, inst, Paint(label, horizon, rng));
    }

    // Mountains: a jagged ridge that rises above the horizon.
    private static void DrawMountains(LabelMap label, int horizon, DeterministicRng rng)
    {
        int w = label.Width;
        int peaks = 1 + rng.NextInclusive(0, 2);
        var peakX = new double[peaks];
        var peakH = new double[peaks];
        for (int i = 0; i < peaks; i++)
        {
            peakX[i] = rng.NextDouble() * w;
            peakH[i] = horizon * (0.2 + 0.4 * rng.NextDouble());
        }
        for (int x = 0; x < w; x++)
        {
            double top = 0;
            for (int i = 0; i < peaks; i++) top = Math.Max(top, peakH[i] - Math.Abs(x - peakX[i]) * 0.8);
            for (int y = Math.Max(0, horizon - (int)top); y < horizon; y++) label[x, y] = Mountain;
        }
    }

    // Sun: a disc in the sky, drawn before the mountains would hide it only where it is still sky.
    private static void DrawSun(LabelMap label, int horizon, DeterministicRng rng)
    {
        int w = label.Width, h = label.Height;
        int sunR = Math.Max(2, (int)(Math.Min(w, h) * (0.05 + 0.04 * rng.NextDouble())));
        int sunX = rng.NextInclusive(sunR, w - 1 - sunR), sunY = rng.NextInclusive(0, Math.Max(0, horizon / 2));
        FillDisc(label, sunX, sunY, sunR, Sun, onlyOver: Sky);
    }

    // Road: a band from the bottom towards a vanishing point on the horizon.
    private static void DrawRoad(LabelMap label, int horizon, DeterministicRng rng)
    {
        int w = label.Width, h = label.Height;
        int vx = rng.NextInclusive(w / 4, 3 * w / 4);
        double bottomHalf = w * (0.15 + 0.1 * rng.NextDouble());
        for (int y = horizon; y < h; y++)
        {
            double t = (double)(y - horizon) / Math.Max(1, h - horizon);
            double half = 2 + bottomHalf * t;
            int x0 = Math.Max(0, (int)(vx - half)), x1 = Math.Min(w - 1, (int)(vx + half));
            for (int x = x0; x <= x1; x++) label[x, y] = Road;
        }
    }

    // Buildings: rectangles standing on the horizon, each its own instance.
    private static void DrawBuildings(LabelMap label, LabelMap inst, int horizon, DeterministicRng rng)
    {
        int w = label.Width, h = label.Height;
        int buildings = rng.NextInclusive(1, 3);
        for (int b = 0; b < buildings; b++)
        {
            int bw = Math.Max(3, (int)(w * (0.08 + 0.1 * rng.NextDouble())));
            int bh = Math.Max(3, (int)(horizon * (0.3 + 0.5 * rng.NextDouble())));
            int bx = rng.NextInclusive(0, Math.Max(0, w - bw));
            int by = Math.Min(h - 1, horizon + rng.NextInclusive(0, Math.Max(1, h / 20)));
            for (int y = Math.Max(0, by - bh); y < by; y++)
                for (int x = bx; x < Math.Min(w, bx + bw); x++)
                {
                    label[x, y] = Building;
                    inst[x, y] = Building * 1000 + b;
                }
        }
    }

    // Trees: discs on the grass, each its own instance, drawn last so they stand in front.
    private static void DrawTrees(LabelMap label, LabelMap inst, int horizon, DeterministicRng rng)
    {
        int w = label.Width, h = label.Height;
        int trees = rng.NextInclusive(1, 4);
        for (int t = 0; t < trees; t++)
        {
            int r = Math.Max(2, (int)(Math.Min(w, h) * (0.04 + 0.05 * rng.NextDouble())));
            int tx = rng.NextInclusive(0, w - 1);
            int ty = rng.NextInclusive(Math.Min(h - 1, horizon), h - 1);
            FillDisc(label, tx, ty, r, Tree, onlyOver: null, inst, Tree * 1000 + t);
        }
    }

    private static void FillDisc(LabelMap map, int cx, int cy, int r, int value, int? onlyOver, LabelMap? inst = null, int id = 0)
    {
        for (int y = Math.Max(0, cy - r); y <= Math.Min(map.Height - 1, cy + r); y++)
            for (int x = Math.Max(0, cx - r); x <= Math.Min(map.Width - 1, cx + r); x++)
            {
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > r * r) continue;
                if (onlyOver is int o && map[x, y] != o) continue;
                map[x, y] = value;
                if (inst is not null) inst[x, y] = id;
            }
    }

    /// <summary>Per-class colour plus a class-specific texture, so each class looks different from its neighbours.</summary>
    private static RgbImage Paint(LabelMap label, int horizon, DeterministicRng rng)
    {
        int w = label.Width, h = label.Height;
        var img = new RgbImage(w, h);
        double phase = rng.NextDouble() * Math.PI * 2;
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int c = label[x, y];
                var (r, g, b) = BaseColour[c];
                double noise = rng.NextGaussian();
                double shade = c switch
                {
                    // Sky brightens towards the horizon.
                    Sky => 30.0 * y / Math.Max(1, horizon) + 3 * noise,
                    Sun => 5 * noise,
                    // Mountains: diagonal strata.
                    Mountain => 15 * Math.Sin((x + 2 * y) * 0.3 + phase) + 6 * noise,
                    // Grass: strong pixel noise.
                    Grass => 25 * noise,
                    // Road: dashed centre stripes every 16 rows, otherwise fine grain.
                    Road => (y / 8 % 2 == 0 && Math.Abs(x % 32 - 16) < 1 ? 120 : 0) + 6 * noise,
                    // Buildings: window grid.
                    Building => (x % 6 < 3 && y % 8 < 4 ? 50 : 0) + 4 * noise,
                    // Trees: blotchy leaves.
                    Tree => 20 * Math.Sin(x * 0.9 + phase) * Math.Sin(y * 0.7) + 10 * noise,
                    _ => 0,
                };
                img[x, y] = (Clamp(r + shade), Clamp(g + shade), Clamp(b + shade));
            }
        }
        return img;
    }

    private static byte Clamp(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);
}
