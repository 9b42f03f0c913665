using GanSharp.Data.Tools;
using GanSharp.Planning;

namespace GanSharp.Tests.Planning;

public sealed class PlanTests
{
    private static readonly GanSharp.Data.DataOptions DataAt = new PlanOptions().Data;

    // Two made-up probes: 400 MB + 100 MB per megapixel, 0.2 s + 3 s per megapixel.
    private static readonly ProbeMeasurement Small = new(32, 32, 0.2 + 3 * 1024 / 1e6, 400 + 100 * 1024 / 1e6);
    private static readonly ProbeMeasurement Large = new(64, 64, 0.2 + 3 * 4096 / 1e6, 400 + 100 * 4096 / 1e6);
    private static readonly ParameterCounts Counts = new(1000, 200, 0);

    [Fact]
    public void Lines_through_two_probes_scale_with_pixels_and_batch()
    {
        var options = new PlanOptions
        {
            Data = DataAt with { CropSize = 1024, AspectRatio = 4.0 / 3, BatchSize = 4 }, DatasetSize = 1001, Epochs = 10, MemoryGb = 2,
        };
        var e = Planner.Estimate(options, Counts, Small, Large);
        Assert.Equal(400, e.FixedMb, 9);
        Assert.Equal(100, e.MbPerMegapixel, 9);
        Assert.Equal(0.2, e.FixedSeconds, 9);
        Assert.Equal(3, e.SecondsPerMegapixel, 9);
        // 1024 wide at 4:3 -> sh = round(32 / 1.333) = 24 -> 768 high.
        Assert.Equal(1024 * 768, e.Pixels);
        Assert.Equal(100 * 0.786432, e.MbPerExample, 9);
        Assert.Equal(400 + 4 * 78.6432, e.PeakMb, 9);
        Assert.Equal(0.2 + 3 * 0.786432 * 4, e.SecondsPerIteration, 9);
        // 1001 pairs in batches of 4 drop the last one: 250 iterations per epoch.
        Assert.Equal(2500, e.Iterations);
        Assert.Equal(2500 * e.SecondsPerIteration / 3600, e.TotalHours!.Value, 9);
        // (2000 - 400) / 78.6432 = 20.3 -> 20.
        Assert.Equal(20, e.LargestBatch);
    }

    [Fact]
    public void Verdict_says_when_nothing_fits_and_when_data_is_short()
    {
        var e = Planner.Estimate(new PlanOptions { Data = DataAt with { CropSize = 1024 }, MemoryGb = 0.3, DatasetSize = 700 }, Counts, Small, Large);
        Assert.Equal(0, e.LargestBatch);
        var lines = Planner.Verdict(e, null, SceneKind.Street);
        Assert.Contains(lines, l => l.StartsWith("Dense structured scenes", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("700 examples is below the guidance", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Not even one example fits in 0.3 GB", StringComparison.Ordinal));
    }

    [Fact]
    public void Building_peak_bounds_the_estimate_from_below()
    {
        var e = Planner.Estimate(new PlanOptions { Data = DataAt with { CropSize = 64 }, MemoryGb = 0.85 },
            Counts, Small with { BuildPeakMb = 800 }, Large with { BuildPeakMb = 900 });
        // The training line gives 400 + 100 * 0.004096 MB, far below the 900 MB the construction needed.
        Assert.Equal(900, e.PeakMb, 9);
        Assert.Equal(0, e.LargestBatch);
        Assert.Equal(400 + 100 * 0.004096 * 8, Planner.Estimate(new PlanOptions { Data = DataAt with { CropSize = 64, BatchSize = 8 } },
            Counts, Small, Large).PeakMb, 9);
    }

    [Fact]
    public void Noisy_inverted_times_do_not_give_negative_slopes()
    {
        var e = Planner.Estimate(new PlanOptions(), Counts, Small with { SecondsPerIteration = 1.0 }, Large with { SecondsPerIteration = 0.9 });
        Assert.Equal(0, e.SecondsPerMegapixel);
        Assert.Equal(1.0, e.FixedSeconds, 9);
        // Memory that did not grow with size gives no batch limit rather than an absurd one.
        var flat = Planner.Estimate(new PlanOptions { MemoryGb = 16 }, Counts, Small with { PeakMb = 1171 }, Large with { PeakMb = 1126 });
        Assert.Equal(0, flat.MbPerMegapixel);
        Assert.Null(flat.LargestBatch);
    }

    [Fact]
    public void Probes_sit_as_close_to_the_requested_crop_as_a_short_run_allows()
    {
        Assert.Equal((64, 128), Planner.ProbeCropsFor(new PlanOptions { Data = DataAt with { CropSize = 256 } }));
        Assert.Equal((64, 128), Planner.ProbeCropsFor(new PlanOptions { Data = DataAt with { CropSize = 1024 } }));
        Assert.Equal((64, 128), Planner.ProbeCropsFor(new PlanOptions { Data = DataAt with { CropSize = 128 } }));
        Assert.Equal((32, 96), Planner.ProbeCropsFor(new PlanOptions { Data = DataAt with { CropSize = 96 } }));
        Assert.Equal((32, 64), Planner.ProbeCropsFor(new PlanOptions { Data = DataAt with { CropSize = 64 } }));
        Assert.Equal((32, 64), Planner.ProbeCropsFor(new PlanOptions { Data = DataAt with { CropSize = 32 } }));
    }

    [Fact]
    public void Probe_lines_round_trip()
    {
        var m = new ProbeMeasurement(64, 48, 0.123456789, 987.654321, 1234.5);
        Assert.Equal(m, Planner.ParseProbeLine(Planner.FormatProbeLine(m)));
    }

    [Fact]
    public void Crop_sizes_that_are_not_multiples_of_32_are_refused()
    {
        var ex = Assert.Throws<GanSharpException>(() => new PlanOptions { Data = DataAt with { CropSize = 100 } }.Validate());
        Assert.Contains("multiple of 32", ex.Message, StringComparison.Ordinal);
    }
}
