using GanSharp.Data;
using GanSharp.Data.Tools;
using GanSharp.Reporting;

namespace GanSharp.Tests.Data.Tools;

public sealed class DataToolsAuditTests
{
    private const int W = 96, H = 72;

    // Label value 7 (one past the synthetic classes) painted on a few pixels of one map: a rare class by construction.
    private const int RareClass = 7;

    private sealed record Planted(SyntheticDatasetInfo Info, string TestDir);

    /// <summary>
    /// 16 distinct synthetic scenes plus three altered copies of train_0003 (resized, JPEG, shifted by 2 px), and a
    /// test folder with a JPEG of train_0005 (leak) and two fresh validation scenes (no leak).
    /// </summary>
    private static Planted Plant(TempDir tmp)
    {
        var info = SyntheticDataset.Generate(tmp.Sub("data"), new SyntheticOptions
        {
            TrainCount = 16, ValCount = 2, Width = W, Height = H,
            WithInstances = false, Seed = 11
        });
        var label = LabelIO.Read(Path.Combine(info.TrainLabelDir, "train_0003.png"));
        var photo = ImageIO.ReadRgb(Path.Combine(info.TrainImageDir, "train_0003.png"));

        LabelIO.WritePng(Resample.Nearest(label, 120, 90), Path.Combine(info.TrainLabelDir, "dup_resized.png"));
        ImageIO.WritePng(Resample.Bicubic(photo, 120, 90), Path.Combine(info.TrainImageDir, "dup_resized.png"));

        LabelIO.WritePng(label, Path.Combine(info.TrainLabelDir, "dup_jpeg.png"));
        ImageIO.WriteJpeg(photo, Path.Combine(info.TrainImageDir, "dup_jpeg.jpg"), 75);

        var shiftedLabel = new LabelMap(W, H);
        var shiftedPhoto = new RgbImage(W, H);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                int sx = Math.Max(0, x - 2), sy = Math.Max(0, y - 1);
                shiftedLabel[x, y] = label[sx, sy];
                shiftedPhoto[x, y] = photo[sx, sy];
            }
        LabelIO.WritePng(shiftedLabel, Path.Combine(info.TrainLabelDir, "dup_shifted.png"));
        ImageIO.WritePng(shiftedPhoto, Path.Combine(info.TrainImageDir, "dup_shifted.png"));

        var rare = LabelIO.Read(Path.Combine(info.TrainLabelDir, "train_0009.png"));
        for (int k = 0; k < 6; k++) rare.Values[k] = RareClass;
        LabelIO.WritePng(rare, Path.Combine(info.TrainLabelDir, "train_0009.png"));

        string test = tmp.Sub("test_img");
        ImageIO.WriteJpeg(ImageIO.ReadRgb(Path.Combine(info.TrainImageDir, "train_0005.png")), Path.Combine(test, "leak.jpg"), 80);
        File.Copy(Path.Combine(info.ValImageDir, "val_0000.png"), Path.Combine(test, "fresh0.png"));
        File.Copy(Path.Combine(info.ValImageDir, "val_0001.png"), Path.Combine(test, "fresh1.png"));
        return new Planted(info, test);
    }

    private static AuditOptions Options(Planted p) => new()
    {
        Data = p.Info.TrainOptions() with { LabelNc = 8, NoInstance = true, PreprocessMode = PreprocessMode.None },
        TestImageDir = p.TestDir,
        CacheDirectory = "",
    };

    [Fact]
    public void Planted_near_duplicates_form_one_cluster_and_nothing_else()
    {
        using var tmp = new TempDir();
        var result = DataAudit.Run(Options(Plant(tmp)));
        Assert.Equal(19, result.Pairs);
        var cluster = Assert.Single(result.NearDuplicateClusters);
        Assert.Equal(["dup_jpeg", "dup_resized", "dup_shifted", "train_0003"], cluster.Order(StringComparer.Ordinal));
        Assert.Equal(16, result.EffectiveSize);
        Assert.Contains(result.Problems, p => p.Kind == "duplicates");
    }

    [Fact]
    public void Leakage_names_the_test_photo_and_its_training_twin_only()
    {
        using var tmp = new TempDir();
        var result = DataAudit.Run(Options(Plant(tmp)));
        Assert.Equal(3, result.TestImages);
        var leak = Assert.Single(result.Leakage);
        Assert.Equal("leak.jpg", Path.GetFileName(leak.TestImage));
        Assert.Equal("train_0005", leak.TrainStem);
        Assert.InRange(leak.Distance, 0, 6);
    }

    [Fact]
    public void Rare_class_and_small_size_are_flagged_and_shares_add_up()
    {
        using var tmp = new TempDir();
        var result = DataAudit.Run(Options(Plant(tmp)));
        var rare = result.Classes[RareClass];
        Assert.True(rare.Rare);
        Assert.Equal(1, rare.Images);
        // 19 maps: 18 at 96x72 and one at 120x90.
        Assert.Equal(6.0 / (18 * W * H + 120 * 90), rare.PixelShare, 12);
        Assert.Equal(1.0, result.Classes.Sum(c => c.PixelShare), 9);
        Assert.False(result.Classes[0].Rare);
        Assert.Contains(result.Problems, p => p.Kind == "rare-classes" && p.Message.Contains('7'));
        Assert.Equal(SceneKind.Texture, result.Scene);
        Assert.Contains(result.Problems, p => p.Kind == "size" && p.Message.Contains("2,000", StringComparison.Ordinal));
        // 96x72 and 120x90 are both 4:3, so one aspect ratio.
        Assert.DoesNotContain(result.Problems, p => p.Kind == "aspect");
        Assert.Equal((W, H, 18), result.Sizes[0]);
    }

    [Fact]
    public void Audit_json_carries_the_numbers_the_doctor_reads()
    {
        using var tmp = new TempDir();
        var planted = Plant(tmp);
        var options = Options(planted);
        var result = DataAudit.Run(options);
        string path = tmp.File("audit.json");
        AuditJson.Write(result, options, path);

        var s = AuditJson.Read(path);
        Assert.Equal(Path.GetFullPath(path), s.Source);
        Assert.Equal(Path.GetFullPath(planted.Info.TrainLabelDir), s.LabelDir);
        Assert.Equal((19, 16, 3, 1, 4), (s.Pairs, s.EffectiveSize, s.NearDuplicateImages, s.NearDuplicateClusters, s.LargestCluster));
        Assert.Equal((3, 1), (s.TestImages, s.LeakedTestImages));
        Assert.Equal([RareClass], s.RareClasses);
        Assert.Equal((SceneKind.Texture, 2000, "2,000", true), (s.Scene, s.RecommendedSize, s.Guidance, s.TooSmall));
        Assert.Equal(DataAuditSummary.From(result, planted.Info.TrainLabelDir) with { Source = s.Source, RareClasses = s.RareClasses },
            s with { RareClasses = s.RareClasses });

        string json = File.ReadAllText(path);
        Assert.Contains("\"format\": \"gansharp-audit/1\"", json, StringComparison.Ordinal);
        Assert.Contains("\"near_duplicate_images\": 3", json, StringComparison.Ordinal);
        Assert.Contains("\"train_stem\": \"train_0005\"", json, StringComparison.Ordinal);

        File.WriteAllText(path, "{\"pairs\": ");
        Assert.Equal(ErrorKind.BadInput, Assert.Throws<GanSharpException>(() => AuditJson.Read(path)).Kind);
        File.WriteAllText(path, "{\"images\": 3}");
        Assert.Contains("not a GanSharp audit", Assert.Throws<GanSharpException>(() => AuditJson.Read(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_audit_verb_writes_the_json_next_to_the_report()
    {
        using var tmp = new TempDir();
        var planted = Plant(tmp);
        string report = tmp.File("out/audit.html");
        int code = GanSharp.Tests.Reliability.Cli.Run(
            ["data", "audit", "--label-dir", planted.Info.TrainLabelDir, "--image-dir", planted.Info.TrainImageDir, "--label-nc", "8",
             "--no-instance", "--preprocess-mode", "none", "--test-image-dir", planted.TestDir, "--report", report]).Code;
        Assert.Equal(0, code);
        Assert.True(File.Exists(report));
        var s = AuditJson.Read(tmp.File("out/audit.json"));
        Assert.Equal((19, 16, 1), (s.Pairs, s.EffectiveSize, s.LeakedTestImages));
    }

    [Fact]
    public void Distinct_scenes_of_other_seeds_are_never_near_duplicates()
    {
        var hashes = new List<ulong>();
        for (int seed = 0; seed < 40; seed++)
        {
            var (_, _, photo) = SyntheticDataset.Draw(W, H, DeterministicRng.For(seed, stream: 1, a: seed));
            hashes.Add(PerceptualHash.Compute(photo));
        }
        Assert.Empty(DataAudit.Clusters(hashes, 6));
    }

    [Fact]
    public void Hash_distance_counts_differing_bits()
    {
        Assert.Equal(0, PerceptualHash.Distance(0xF0F0UL, 0xF0F0UL));
        Assert.Equal(64, PerceptualHash.Distance(0UL, ulong.MaxValue));
        Assert.Equal(2, PerceptualHash.Distance(0b1011UL, 0b0001UL));
    }

    [Fact]
    public void Report_escapes_file_names_and_embeds_the_plot()
    {
        using var tmp = new TempDir();
        var result = DataAudit.Run(Options(Plant(tmp)));
        var hostile = result with { Notices = ["<script>alert(1)</script>"] };
        string path = tmp.File("audit.html");
        AuditReport.Write(hostile, path, ["sky", "sun", "mountain", "grass", "road", "building", "tree", "a<b"], "data & <labels>");
        string html = File.ReadAllText(path);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
        Assert.Contains("data &amp; &lt;labels&gt;", html, StringComparison.Ordinal);
        Assert.Contains("7 a&lt;b", html, StringComparison.Ordinal);
        Assert.Contains("data:image/png;base64,iVBORw0KGgo", html, StringComparison.Ordinal);
    }
}
