using GanSharp.Data;
using static TorchSharp.torch;

namespace GanSharp.Tests.Data;

public class SpadeLoaderTests
{
    /// <summary>A batch reduced to what identifies it: indices, crop/flip of each sample and a checksum of its pixels.</summary>
    private static string Fingerprint(Sample[] samples) => string.Join(";", samples.Select(s =>
        $"{s.Index}@{s.Plan.Crop?.X},{s.Plan.Crop?.Y},{s.Plan.Flip}:{s.Label.Sum()}:{s.Image.Sum():F3}"));

    private static List<string> Run(SpadeLoader loader, LoaderPosition start) =>
        loader.ReadEpochSamples(start).Select(b => Fingerprint(b.Samples)).ToList();

    private static DataOptions Setup(TempDir dir, int n = 7) =>
        TinyData.Write(dir, n, 20, 16) with { PreprocessMode = PreprocessMode.Crop, CropSize = 12, BatchSize = 2, Seed = 42 };

    [Fact]
    public void SameSeedGivesTheSameSequenceWhateverTheWorkerCount()
    {
        using var dir = new TempDir();
        var o = Setup(dir);
        var a = Run(new SpadeLoader(SpadeDataset.Open(o, "")), new(1, 0));
        var b = Run(new SpadeLoader(SpadeDataset.Open(o with { NumWorkers = 2 }, "")), new(1, 0));
        var c = Run(new SpadeLoader(SpadeDataset.Open(o with { NumWorkers = 0 }, "")), new(1, 0));
        var d = Run(new SpadeLoader(SpadeDataset.Open(o with { NumWorkers = 3 }, "")), new(1, 0));
        Assert.Equal(3, a.Count); // 7 pairs, batch 2, drop last
        Assert.Equal(a, b);
        Assert.Equal(a, c);
        Assert.Equal(a, d);
    }

    [Fact]
    public void ResumingMidEpochGivesExactlyTheRemainingBatches()
    {
        using var dir = new TempDir();
        var loader = new SpadeLoader(SpadeDataset.Open(Setup(dir, 9), ""));
        var full = loader.ReadEpochSamples(new(1, 0)).ToList();
        Assert.Equal(4, full.Count);
        // Stop after two batches as a trainer would, saving the position after the second.
        LoaderPosition saved = default;
        foreach (var (samples, pos, next) in loader.ReadEpochSamples(new(1, 0)))
        {
            saved = next;
            if (pos.Index == 2) break;
        }
        Assert.Equal(new LoaderPosition(1, 4), saved);
        var resumed = Run(loader, saved);
        Assert.Equal(full.Skip(2).Select(b => Fingerprint(b.Samples)), resumed);
        Assert.Equal(new LoaderPosition(2, 0), full[^1].Next);
    }

    [Fact]
    public void EpochsDifferInOrderAndAugmentation()
    {
        using var dir = new TempDir();
        var loader = new SpadeLoader(SpadeDataset.Open(Setup(dir, 8), ""));
        Assert.NotEqual(loader.Order(1), loader.Order(2));
        Assert.Equal(Enumerable.Range(0, 8), loader.Order(1).Order());
        Assert.NotEqual(Run(loader, new(1, 0)), Run(loader, new(2, 0)));
        Assert.Equal(Run(loader, new(2, 0)), Run(loader, new(2, 0)));
    }

    [Fact]
    public void SerialBatchesAndTestTimeKeepFileOrderAndTestKeepsTheLastPartialBatch()
    {
        using var dir = new TempDir();
        var o = Setup(dir, 5);
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, new SpadeLoader(SpadeDataset.Open(o with { SerialBatches = true }, "")).Order(3));
        var test = new SpadeLoader(SpadeDataset.Open(o with { IsTrain = false }, ""));
        var batches = test.ReadEpochSamples(new(0, 0)).ToList();
        Assert.Equal(new[] { 2, 2, 1 }, batches.Select(b => b.Samples.Length));
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, batches.SelectMany(b => b.Samples).Select(s => s.Index));
        Assert.All(batches.SelectMany(b => b.Samples), s => Assert.False(s.Plan.Flip));
        Assert.Equal(2, new SpadeLoader(SpadeDataset.Open(o, "")).BatchesPerEpoch);
    }

    [Fact]
    public void BatchesAreTensorsOfTheReferenceShapesAndTypes()
    {
        using var dir = new TempDir();
        var o = Setup(dir, 4) with { ContainDontcareLabel = true };
        var loader = new SpadeLoader(SpadeDataset.Open(o, ""));
        int count = 0;
        foreach (var batch in loader.ReadEpoch(new(0, 0)))
        {
            using (batch)
            {
                count++;
                Assert.Equal(new long[] { 2, 1, 12, 12 }, batch.Label.shape);
                Assert.Equal(ScalarType.Int64, batch.Label.dtype);
                Assert.Equal(new long[] { 2, 1, 12, 12 }, batch.Instance!.shape);
                Assert.Equal(ScalarType.Int64, batch.Instance.dtype);
                Assert.Equal(new long[] { 2, 3, 12, 12 }, batch.Image.shape);
                Assert.Equal(ScalarType.Float32, batch.Image.dtype);
                // 5 classes + don't-care + instance edges.
                Assert.Equal(new long[] { 2, 7, 12, 12 }, batch.Semantics.shape);
                Assert.Equal(2, batch.Paths.Count);
                Assert.True(batch.Image.min().item<float>() >= -1f && batch.Image.max().item<float>() <= 1f);
                // Class channels sum to one per pixel; the edge channel matches the instance map's edges.
                using var classSum = batch.Semantics[.., ..6].sum(1);
                Assert.Equal(1f, classSum.min().item<float>());
                Assert.Equal(1f, classSum.max().item<float>());
                using var edges = SpadeInput.GetEdges(batch.Instance);
                Assert.True(batch.Semantics[.., 6..7].eq(edges).all().item<bool>());
                Assert.True(edges.sum().item<float>() > 0);
            }
        }
        Assert.Equal(2, count);
    }

    [Fact]
    public void AWorkerErrorReachesTheConsumerAsTheSameSentence()
    {
        using var dir = new TempDir();
        var o = Setup(dir, 6);
        var ds = SpadeDataset.Open(o, "");
        // Truncate one photo after validation: the loader thread hits it mid-epoch.
        var target = ds.Pairs[3].Image;
        File.WriteAllBytes(target, File.ReadAllBytes(target)[..20]);
        var e = Assert.Throws<GanSharpException>(() => new SpadeLoader(ds).ReadEpochSamples(new(0, 0)).ToList());
        Assert.Contains("s3.png", e.Message);
    }

    [Fact]
    public void PositionOutsideTheEpochIsRefused()
    {
        using var dir = new TempDir();
        var loader = new SpadeLoader(SpadeDataset.Open(Setup(dir, 4), ""));
        var e = Assert.Throws<GanSharpException>(() => loader.ReadEpochSamples(new(0, 99)).ToList());
        Assert.Contains("99", e.Message);
    }

    [Fact]
    public void BatchTensorsJoinTheCallersDisposeScopeAndSurviveADoubleDispose()
    {
        using var dir = new TempDir();
        var loader = new SpadeLoader(SpadeDataset.Open(Setup(dir, 2), ""));
        SpadeBatch kept;
        using (NewDisposeScope())
        {
            kept = loader.ReadEpoch(new(0, 0)).Single();
            // Values are readable while the scope is open, and they come from the sample arrays.
            Assert.Equal(kept.Indices.Count, (int)kept.Label.shape[0]);
            Assert.False(kept.Image.IsInvalid);
        }
        // The scope freed them without an explicit Dispose; disposing the batch afterwards is harmless.
        Assert.True(kept.Image.IsInvalid);
        Assert.True(kept.Semantics.IsInvalid);
        Assert.True(kept.Label.IsInvalid);
        kept.Dispose();
        Assert.True(kept.Instance!.IsInvalid);
    }
}
