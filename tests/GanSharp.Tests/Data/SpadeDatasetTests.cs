using GanSharp.Data;

namespace GanSharp.Tests.Data;

public class SpadeDatasetTests
{
    private static SpadeDataset Open(DataOptions o) => SpadeDataset.Open(o, cacheDirectory: "");

    [Fact]
    public void OutOfRangeLabelNamesTheFileTheValueAndTheFix()
    {
        using var dir = new TempDir();
        var o = TinyData.Write(dir, 3, 12, 8, classes: 5);
        var bad = LabelIO.Read(Path.Combine(o.LabelDir, "s1.png"));
        bad[3, 2] = 37;
        LabelIO.WritePng(bad, Path.Combine(o.LabelDir, "s1.png"));
        var e = Assert.Throws<GanSharpException>(() => Open(o));
        Assert.Equal(ErrorKind.Data, e.Kind);
        Assert.Contains("s1.png", e.Message);
        Assert.Contains("value 37", e.Message);
        Assert.Contains("--label-nc is 5", e.Message);
        Assert.Contains("raise --label-nc", e.Message);
    }

    [Fact]
    public void Value255NeedsDontcareAndThenMapsToLabelNc()
    {
        using var dir = new TempDir();
        // Crop 8 of 12x8: x is drawn from 0..4 (the reference crops at random at test time too), y is 0.
        var o = TinyData.Write(dir, 2, 12, 8, classes: 5, instances: false)
            with
        { PreprocessMode = PreprocessMode.Crop, CropSize = 8, IsTrain = false, NumWorkers = 0 };
        var lab = LabelIO.Read(Path.Combine(o.LabelDir, "s0.png"));
        for (int x = 0; x < 12; x++) lab[x, 0] = 255;
        LabelIO.WritePng(lab, Path.Combine(o.LabelDir, "s0.png"));
        var e = Assert.Throws<GanSharpException>(() => Open(o));
        Assert.Contains("s0.png has value 255", e.Message);
        Assert.Contains("--contain-dontcare-label", e.Message);

        var ds = Open(o with { ContainDontcareLabel = true });
        Assert.Equal(5 + 1, ds.SemanticNc);
        Assert.Contains(5, ds.Summary.ClassesPresent);
        var sample = ds.Load(0, 0);
        Assert.All(sample.Label.Take(8), v => Assert.Equal(5, v));
        Assert.Equal(lab[sample.Plan.Crop!.Value.X, 1], sample.Label[8]);
    }

    [Fact]
    public void UnpairedFilesAreListedPerFolder()
    {
        using var dir = new TempDir();
        var o = TinyData.Write(dir, 3, 8, 8);
        File.Copy(Path.Combine(o.LabelDir, "s0.png"), Path.Combine(o.LabelDir, "extra_label.png"));
        for (int i = 0; i < 12; i++)
            File.Copy(Path.Combine(o.ImageDir, "s0.png"), Path.Combine(o.ImageDir, $"photo{i}.png"));
        var e = Assert.Throws<GanSharpException>(() => Open(o));
        Assert.Equal(ErrorKind.Data, e.Kind);
        Assert.Contains($"1 in {o.LabelDir} have no photo (extra_label)", e.Message);
        // Natural order, the first ten, then a count.
        Assert.Contains($"12 in {o.ImageDir} have no label map (photo0, photo1, photo2, photo3, photo4, photo5, photo6, photo7, photo8, photo9 and " +
            "2 more)", e.Message);
    }

    [Fact]
    public void MissingInstanceFolderOrFilesInferNoInstanceWithANotice()
    {
        using var dir = new TempDir();
        var o = TinyData.Write(dir, 3, 8, 8);
        Assert.True(Open(o).UsesInstances);
        Assert.Equal(5 + 1, Open(o).SemanticNc);

        var gone = Open(o with { InstanceDir = Path.Combine(dir.Path, "nope") });
        Assert.False(gone.UsesInstances);
        Assert.Equal(5, gone.SemanticNc);
        Assert.Contains("does not exist", Assert.Single(gone.Notices));

        File.Delete(Path.Combine(o.InstanceDir!, "s2.png"));
        var partial = Open(o);
        Assert.False(partial.UsesInstances);
        Assert.Contains("1 of 3 label maps have no instance map", Assert.Single(partial.Notices));
        Assert.Contains("(s2)", partial.Notices[0]);

        Assert.Contains("No --instance-dir", Assert.Single(Open(o with { InstanceDir = null }).Notices));
    }

    [Fact]
    public void SizeMismatchWithinAPairIsNamed()
    {
        using var dir = new TempDir();
        var o = TinyData.Write(dir, 2, 8, 8);
        ImageIO.WritePng(new RgbImage(9, 8), Path.Combine(o.ImageDir, "s1.png"));
        var e = Assert.Throws<GanSharpException>(() => Open(o));
        Assert.Contains("s1.png is 8x8 but its photo", e.Message);
        Assert.Contains("9x8", e.Message);
    }

    [Fact]
    public void ColourLabelFileAsksForConversion()
    {
        using var dir = new TempDir();
        var o = TinyData.Write(dir, 2, 8, 8);
        ImageIO.WritePng(new RgbImage(8, 8), Path.Combine(o.LabelDir, "s0.png"));
        var e = Assert.Throws<GanSharpException>(() => Open(o));
        Assert.Contains("s0.png is a colour", e.Message);
        Assert.Contains("gansharp data convert", e.Message);
    }

    [Fact]
    public void PairsFollowNaturalOrderAndMaxDatasetSize()
    {
        using var dir = new TempDir();
        var o = TinyData.Write(dir, 1, 8, 8);
        foreach (var name in new[] { "img10", "img2", "img1" })
        {
            File.Copy(Path.Combine(o.LabelDir, "s0.png"), Path.Combine(o.LabelDir, name + ".png"));
            File.Copy(Path.Combine(o.ImageDir, "s0.png"), Path.Combine(o.ImageDir, name + ".png"));
            File.Copy(Path.Combine(o.InstanceDir!, "s0.png"), Path.Combine(o.InstanceDir!, name + ".png"));
        }
        Assert.Equal(new[] { "img1", "img2", "img10", "s0" }, Open(o).Pairs.Select(p => p.Stem));
        Assert.Equal(new[] { "img1", "img2" }, Open(o with { MaxDatasetSize = 2 }).Pairs.Select(p => p.Stem));
    }

    [Fact]
    public void SecondScanComesFromTheCacheAndNoticesChangedFiles()
    {
        using var dir = new TempDir();
        string cache = dir.Sub("cache");
        var o = TinyData.Write(dir, 4, 8, 8);
        Assert.Equal(0, SpadeDataset.Open(o, cache).Summary.CacheHits);
        Assert.Equal(12, SpadeDataset.Open(o, cache).Summary.CacheHits);
        Assert.Single(Directory.GetFiles(cache, "scan-*.json"));
        // A changed label is rescanned: its new bad value is caught although the cache said it was fine.
        var lab = LabelIO.Read(Path.Combine(o.LabelDir, "s3.png"));
        lab[0, 0] = 99;
        LabelIO.WritePng(lab, Path.Combine(o.LabelDir, "s3.png"));
        File.SetLastWriteTimeUtc(Path.Combine(o.LabelDir, "s3.png"), DateTime.UtcNow.AddMinutes(1));
        var e = Assert.Throws<GanSharpException>(() => SpadeDataset.Open(o, cache));
        Assert.Contains("s3.png has value 99", e.Message);
    }

    [Fact]
    public void ALabelFolderGivenAsInstanceFolderTooIsReadOnceAsLabels()
    {
        // The studio hands `test` its label folder as instance folder too. The scan used to read such a file twice,
        // in parallel, and kept whichever read ended last: now and then the instance read, without label values.
        using var dir = new TempDir();
        string cache = dir.Sub("cache");
        var o = TinyData.Write(dir, 24, 8, 8);
        o = o with { InstanceDir = o.LabelDir };
        for (int round = 0; round < 6; round++)
        {
            var summary = SpadeDataset.Open(o, round == 0 ? cache : "").Summary;
            Assert.Equal(24, summary.Pairs);
        }
        // One entry per file: 24 labels and 24 photos, each a hit, none scanned twice.
        Assert.Equal(48, SpadeDataset.Open(o, cache).Summary.CacheHits);
    }

    [Fact]
    public void LoadedSampleIsAlignedAcrossLabelInstanceAndPhoto()
    {
        using var dir = new TempDir();
        var o = TinyData.Write(dir, 2, 40, 30) with { PreprocessMode = PreprocessMode.Crop, CropSize = 24, Seed = 11 };
        var ds = Open(o);
        int flips = 0;
        for (int epoch = 0; epoch < 8; epoch++)
        {
            var s = ds.Load(1, epoch);
            var box = s.Plan.Crop!.Value;
            if (s.Plan.Flip) flips++;
            Assert.Equal((24, 24), (s.Width, s.Height));
            int n = 24 * 24;
            for (int y = 0; y < 24; y++)
                for (int x = 0; x < 24; x++)
                {
                    int p = y * 24 + x;
                    int srcX = box.X + (s.Plan.Flip ? 23 - x : x);
                    // R channel = class * 20, G = source x, B = source y; decoded from [-1, 1].
                    int r = (int)Math.Round((s.Image[p] + 1) * 127.5);
                    int g = (int)Math.Round((s.Image[n + p] + 1) * 127.5);
                    int b = (int)Math.Round((s.Image[2 * n + p] + 1) * 127.5);
                    Assert.Equal(s.Label[p] * 20, r);
                    Assert.Equal(s.Label[p] * 7 + 1, s.Instance![p]);
                    Assert.Equal((srcX, box.Y + y), (g, b));
                }
        }
        Assert.InRange(flips, 1, 7);
    }
}
