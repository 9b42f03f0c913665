using System.Globalization;
using System.Runtime;
using GanSharp.Runtime;

namespace GanSharp.Tests;

/// <summary>The collector settings that keep TorchSharp's temporary Scalars alive during libtorch calls (see GcQuiet).</summary>
public class GcQuietTests
{
    [Fact]
    public void TheTestHostRunsUnderTheCollectorSettingsOfTheCli()
    {
        // test.runsettings must reach the host, or the tests would run under a different collector regime than the CLI.
        Assert.Equal(GcQuiet.Gen0Size, Environment.GetEnvironmentVariable(GcQuiet.Gen0SizeVariable));
        Assert.False(GcQuiet.ShouldRelaunch());
        // Directory.Build.props puts the loader's image arrays below the large-object threshold.
        Assert.Equal(64L * 1024 * 1024, Convert.ToInt64(AppContext.GetData("System.GC.LOHThreshold"), CultureInfo.InvariantCulture));
    }
}

/// <summary>The latency mode is process-wide, so these run alone, after the parallel tests.</summary>
[Collection(GcRegionCollection.Name)]
public class GcQuietRegionTests
{
    private static volatile object? _sink;

    [Fact]
    public void AnotherThreadsAllocationsStartNoCollectionWithinAnIteration()
    {
        // What preceded the loader's mid-iteration collections in the demo: a save's gen2 collections.
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        int before;
        using (GcQuiet.Iteration())
        {
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            before = GC.CollectionCount(0);
            // A loader worker decoding images: 40 MB in 64 KB arrays, below the region's 64 MB.
            var worker = new Thread(() =>
            {
                for (int i = 0; i < 640; i++) _sink = new byte[64 * 1024];
            });
            worker.Start();
            worker.Join();
            Assert.Equal(before, GC.CollectionCount(0));
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        }
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }

    [Fact]
    public void ANestedIterationKeepsTheOuterRegion()
    {
        using (GcQuiet.Iteration())
        {
            int before = GC.CollectionCount(0);
            using (GcQuiet.Iteration())
                Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            // The inner scope neither collected nor ended the outer region.
            Assert.Equal(before, GC.CollectionCount(0));
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        }
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }

    [Fact]
    public void ABulkWriteEndsTheRegion()
    {
        using (GcQuiet.Iteration())
        {
            GcQuiet.AfterBulkWrite();
            Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        }
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GcRegionCollection
{
    public const string Name = "gc-latency-mode";
}
