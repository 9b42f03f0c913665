using System.Text.Json;
using GanSharp.Data;
using GanSharp.Data.Tools;

namespace GanSharp.Tests.Data.Tools;

public sealed class DataToolsSplitTests
{
    // CamVid-like stems: 5 sequences of uneven length, frames numbered within each.
    private static List<DataSplit.Pair> CamVidLike()
    {
        var seqs = new[] { ("0001TP", 12), ("0006R0", 7), ("0016E5", 9), ("Seq05VD", 10), ("0020XY", 5) };
        return seqs.SelectMany(s => Enumerable.Range(0, s.Item2).Select(i =>
            new DataSplit.Pair($"{s.Item1}_{i:D6}", $"l/{s.Item1}_{i:D6}.png", $"i/{s.Item1}_{i:D6}.png", null, ""))).ToList();
    }

    private static SplitOptions Grouped(int seed) => new()
    {
        LabelDir = "l", ImageDir = "i", OutputDir = "o", Mode = SplitMode.Grouped, GroupPattern = @"^(\w+?)_", TestFraction = 0.25,
        ValFraction = 0.15, Seed = seed,
    };

    [Fact]
    public void Grouped_split_never_puts_one_sequence_on_two_sides()
    {
        var entries = DataSplit.Assign(Grouped(3), CamVidLike());
        Assert.Equal(43, entries.Count);
        Assert.Equal(5, entries.Select(e => e.Group).Distinct().Count());
        foreach (var g in entries.GroupBy(e => e.Group))
            Assert.Single(g.Select(e => e.Split).Distinct());
        Assert.Contains(entries, e => e.Split == "train");
        Assert.Contains(entries, e => e.Split == "test");
        Assert.Equal("0001TP", entries.First(e => e.Stem == "0001TP_000003").Group);
    }

    [Fact]
    public void Grouped_split_is_identical_for_a_seed_and_differs_for_another()
    {
        var pairs = CamVidLike();
        var a = DataSplit.Assign(Grouped(3), pairs);
        // Listing order must not matter: the same pairs reversed give the same split.
        var b = DataSplit.Assign(Grouped(3), pairs.AsEnumerable().Reverse().ToList());
        Assert.Equal(a, b);
        var differs = Enumerable.Range(4, 8).Select(s => DataSplit.Assign(Grouped(s), pairs)).Any(c => !c.SequenceEqual(a));
        Assert.True(differs);
    }

    [Fact]
    public void One_huge_sequence_never_becomes_the_test_set()
    {
        var pairs = Enumerable.Range(0, 40).Select(i => new DataSplit.Pair($"big_{i:D3}", "", "", null, ""))
            .Concat(Enumerable.Range(0, 12).Select(i => new DataSplit.Pair($"s{i % 4}_{i:D3}", "", "", null, ""))).ToList();
        for (int seed = 0; seed < 10; seed++)
        {
            var entries = DataSplit.Assign(Grouped(seed) with { ValFraction = 0, TestFraction = 0.2 }, pairs);
            Assert.All(entries.Where(e => e.Group == "big"), e => Assert.Equal("train", e.Split));
            // Target 10 of 52; groups of 3 fill it to 9 or 12 within half a group.
            Assert.InRange(entries.Count(e => e.Split == "test"), 9, 12);
        }
    }

    [Fact]
    public void Stratified_split_puts_a_class_of_two_images_on_both_sides()
    {
        using var tmp = new TempDir();
        string labels = tmp.Sub("label"), images = tmp.Sub("img");
        for (int i = 0; i < 20; i++)
        {
            var map = new LabelMap(4, 4);
            // Class 0 everywhere, class 1 in most, class 2 only in images 7 and 13.
            for (int k = 0; k < 8; k++) map.Values[k] = i % 5 == 0 ? 0 : 1;
            if (i is 7 or 13) map.Values[15] = 2;
            LabelIO.WritePng(map, Path.Combine(labels, $"f{i:D2}.png"));
            ImageIO.WritePng(new RgbImage(4, 4), Path.Combine(images, $"f{i:D2}.png"));
        }
        var options = new SplitOptions
        {
            LabelDir = labels, ImageDir = images, OutputDir = tmp.Sub("out"), Mode = SplitMode.Stratified,
            TestFraction = 0.2
        };
        for (int seed = 0; seed < 5; seed++)
        {
            var entries = DataSplit.Assign(options with { Seed = seed }, DataSplit.ListPairs(options));
            Assert.Equal(4, entries.Count(e => e.Split == "test"));
            var sides = entries.Where(e => e.Stem is "f07" or "f13").Select(e => e.Split).ToHashSet();
            Assert.Equal(["test", "train"], sides.Order());
        }
    }

    [Fact]
    public void Run_writes_the_reference_layout_with_links_and_a_manifest()
    {
        using var tmp = new TempDir();
        var info = SyntheticDataset.Generate(tmp.Sub("src"), new SyntheticOptions { TrainCount = 10, ValCount = 0, Width = 16, Height = 12 });
        string output = tmp.Sub("split");
        var result = DataSplit.Run(new SplitOptions
        {
            LabelDir = info.TrainLabelDir, ImageDir = info.TrainImageDir, InstanceDir = info.TrainInstanceDir, OutputDir = output, TestFraction = 0.3,
            ValFraction = 0.2, Seed = 1,
        });
        Assert.Equal((5, 2, 3), (result.Train, result.Val, result.Test));
        Assert.False(result.CopiedAny);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(output, "test_inst")).Length);
        Assert.Equal(5, Directory.GetFiles(Path.Combine(output, "train_img")).Length);
        var stem = result.Entries.First(e => e.Split == "val").Stem;
        Assert.Equal(File.ReadAllBytes(Path.Combine(info.TrainLabelDir, stem + ".png")),
            File.ReadAllBytes(Path.Combine(output, "val_label", stem + ".png")));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "split.json")));
        var files = doc.RootElement.GetProperty("files");
        Assert.Equal(10, files.GetArrayLength());
        Assert.Equal("val", files.EnumerateArray().First(f => f.GetProperty("stem").GetString() == stem).GetProperty("split").GetString());
    }
}
