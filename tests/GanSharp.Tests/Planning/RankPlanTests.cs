using GanSharp.Planning;

namespace GanSharp.Tests.Planning;

public sealed class RankPlanTests
{
    // Made-up probes: 0.2 s + 3 s per megapixel of one example; crop 256x256 (0.065536 Mpx), global batch 8.
    private static PlanEstimate Estimate(long parameters, int? datasetSize = 800)
    {
        var data = new PlanOptions().Data with { CropSize = 256, AspectRatio = 1, BatchSize = 8 };
        var options = new PlanOptions { Data = data, DatasetSize = datasetSize };
        var small = new ProbeMeasurement(32, 32, 0.2 + 3 * 1024 / 1e6, 500);
        var large = new ProbeMeasurement(64, 64, 0.2 + 3 * 4096 / 1e6, 600);
        return Planner.Estimate(options, new ParameterCounts(parameters, 0, 0), small, large);
    }

    [Fact]
    public void Allreduce_volume_and_times_follow_the_ring_formula()
    {
        // 200 M parameters on 4 ranks: 200e6 * 4 B * 2 * 3/4 = 1.2 GB per rank, 9.6 Gbit, 0.96 s at 10 Gb/s.
        var p = RankPlanner.Project(Estimate(200_000_000), 4, 10);
        Assert.Equal(1.2e9, p.AllreduceBytes, 3);
        Assert.Equal(0.96, p.AllreduceSeconds, 9);
        // Each rank computes 2 of the 8 images: 0.2 + 3 * 0.065536 * 2.
        Assert.Equal(0.2 + 3 * 0.065536 * 2, p.ComputeSeconds, 9);
        Assert.Equal(0.2 + 3 * 0.065536 * 8, p.OneMachineSeconds, 9);
        Assert.Equal(p.OneMachineSeconds / (p.ComputeSeconds + 0.96), p.Speedup, 9);
        // 800 pairs / batch 8 = 100 iterations per epoch.
        Assert.Equal(100 * (p.ComputeSeconds + 0.96) / 3600, p.EpochHours!.Value, 9);
        Assert.True(p.NetworkBound);
        Assert.Equal(9.6 / p.ComputeSeconds, p.BreakEvenGbps, 9);
        Assert.Contains(RankPlanner.Verdict(p), l => l.StartsWith("the network, not the CPUs, is the limit with 4 ranks", StringComparison.Ordinal));
    }

    [Fact]
    public void Small_models_are_cpu_bound_and_one_rank_sends_nothing()
    {
        // 1 M parameters on 2 ranks at 1 Gb/s: 4 MB, 0.032 s against 0.2 + 3 * 0.065536 * 4 = 0.986 s of computing.
        var p = RankPlanner.Project(Estimate(1_000_000, datasetSize: null), 2, 1);
        Assert.Equal(4e6, p.AllreduceBytes, 6);
        Assert.Equal(0.032, p.AllreduceSeconds, 9);
        Assert.False(p.NetworkBound);
        Assert.Null(p.EpochHours);
        Assert.Contains(RankPlanner.Verdict(p), l => l.StartsWith("the CPUs are the limit with 2 ranks", StringComparison.Ordinal));
        Assert.Equal(0, RankPlanner.Project(Estimate(1_000_000), 1, 1).AllreduceBytes);
    }

    [Theory]
    [InlineData(3, 10, "--ranks 3 must be at least 1 and divide --batch-size 8")]
    [InlineData(2, 0, "--bandwidth-gbps 0 must be above 0")]
    public void Impossible_rank_plans_are_refused(int ranks, double gbps, string message)
    {
        var e = Assert.Throws<GanSharpException>(() => RankPlanner.Project(Estimate(1000), ranks, gbps));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }
}
