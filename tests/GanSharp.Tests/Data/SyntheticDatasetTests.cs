using GanSharp.Data;

namespace GanSharp.Tests.Data;

public class SyntheticDatasetTests
{
    [Fact]
    public void SameSeedWritesTheSameBytesAndADifferentSeedDoesNot()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        using var c = new TempDir();
        var opt = new SyntheticOptions { TrainCount = 3, ValCount = 2, Width = 48, Height = 32, Seed = 5 };
        SyntheticDataset.Generate(a.Path, opt);
        SyntheticDataset.Generate(b.Path, opt);
        SyntheticDataset.Generate(c.Path, opt with { Seed = 6 });
        foreach (var folder in new[] { "train_label", "train_img", "train_inst", "val_label", "val_img", "val_inst" })
        {
            var files = Directory.GetFiles(Path.Combine(a.Path, folder)).Select(Path.GetFileName).Order().ToArray();
            Assert.Equal(folder.StartsWith("train") ? 3 : 2, files.Length);
            foreach (var f in files)
                Assert.Equal(File.ReadAllBytes(Path.Combine(a.Path, folder, f!)), File.ReadAllBytes(Path.Combine(b.Path, folder, f!)));
        }
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(a.Path, "train_label", "train_0000.png")),
            File.ReadAllBytes(Path.Combine(c.Path, "train_label", "train_0000.png")));
    }

    [Fact]
    public void GeneratedSetValidatesWithItsClassesAndSixteenBitInstances()
    {
        using var dir = new TempDir();
        var info = SyntheticDataset.Generate(dir.Path, new SyntheticOptions { TrainCount = 6, ValCount = 1, Width = 64, Height = 40, Seed = 2 });
        var ds = SpadeDataset.Open(info.TrainOptions() with { LoadSize = 36, CropSize = 32 }, "");
        Assert.Equal(6, ds.Count);
        Assert.True(ds.UsesInstances);
        Assert.Equal(SyntheticDataset.ClassCount + 1, ds.SemanticNc);
        Assert.All(ds.Summary.ClassesPresent, c => Assert.InRange(c, 0, SyntheticDataset.ClassCount - 1));
        // Sky, grass, road, buildings and trees are in every scene.
        Assert.Subset(ds.Summary.ClassesPresent.ToHashSet(), new HashSet<int> { 0, 3, 4, 5, 6 });
        var (inst, kind) = LabelIO.ReadWithKind(ds.Pairs[0].Instance!);
        Assert.Equal(LabelFileKind.Gray16, kind);
        Assert.Contains(5000, inst.Values);
        Assert.Contains(6000, inst.Values);
        // Instance ids agree with the classes: objects carry class * 1000 + k, stuff its class id.
        var label = LabelIO.Read(ds.Pairs[0].Label);
        for (int i = 0; i < label.Values.Length; i++)
            Assert.Equal(label.Values[i], inst.Values[i] >= 1000 ? inst.Values[i] / 1000 : inst.Values[i]);
    }

    [Fact]
    public void PhotoColoursSeparateTheClasses()
    {
        var (label, _, photo) = SyntheticDataset.Draw(96, 64, new DeterministicRng(3));
        // Mean colour per class; every pair of present classes must differ clearly in at least one channel.
        var sums = new Dictionary<int, (double R, double G, double B, int N)>();
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 96; x++)
            {
                var (r, g, b) = photo[x, y];
                var s = sums.GetValueOrDefault(label[x, y]);
                sums[label[x, y]] = (s.R + r, s.G + g, s.B + b, s.N + 1);
            }
        var means = sums.ToDictionary(kv => kv.Key, kv => (kv.Value.R / kv.Value.N, kv.Value.G / kv.Value.N, kv.Value.B / kv.Value.N));
        foreach (var a in means)
            foreach (var b in means)
                if (a.Key < b.Key)
                {
                    double d = Math.Max(Math.Abs(a.Value.Item1 - b.Value.Item1), Math.Max(Math.Abs(a.Value.Item2 - b.Value.Item2),
                        Math.Abs(a.Value.Item3 - b.Value.Item3)));
                    Assert.True(d > 15, $"classes {a.Key} and {b.Key} differ by only {d:F1}");
                }
    }

    [Fact]
    public void NonSquareSizesAreHonoured()
    {
        using var dir = new TempDir();
        var info = SyntheticDataset.Generate(dir.Path, new SyntheticOptions
        {
            TrainCount = 1, ValCount = 1, Width = 30, Height = 70, Seed = 1,
            WithInstances = false
        });
        Assert.Null(info.TrainInstanceDir);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "train_inst")));
        Assert.Equal((30, 70, LabelFileKind.Gray8), LabelIO.ReadInfo(Path.Combine(info.TrainLabelDir, "train_0000.png")));
        var photo = ImageIO.ReadRgb(Path.Combine(info.ValImageDir, "val_0000.png"));
        Assert.Equal((30, 70), (photo.Width, photo.Height));
    }
}
