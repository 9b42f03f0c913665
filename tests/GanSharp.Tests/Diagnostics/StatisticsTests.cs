using GanSharp.Diagnostics;
using GanSharp.Losses;
using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Tests.Diagnostics;

public class StatisticsTests
{
    [Fact]
    public void DiscriminatorStatsReadsLogitsBySignForTheNonSaturatingLoss()
    {
        using var stats = new StatsCollector();
        using var real = tensor(new[] { 2f, -1f, 3f, 0.5f });
        using var fake = tensor(new[] { -2f, 1f, -0.5f, -3f });
        DiscriminatorStats.Report(stats, real, fake, AdversarialLoss.Original);
        var v = stats.Flush(1, 4, 1, 0).Values;
        Assert.Equal(0.75, v["D_acc_real"], 6);
        Assert.Equal(0.75, v["D_acc_fake"], 6);
        Assert.Equal(0.75, v["D_acc"], 6);
        Assert.Equal(0.5, v["r_t"], 6);
        double Sig(double x) => 1 / (1 + Math.Exp(-x));
        Assert.Equal((Sig(2) + Sig(-1) + Sig(3) + Sig(0.5)) / 4, v["D(x)"], 6);
        Assert.Equal((Sig(-2) + Sig(1) + Sig(-0.5) + Sig(-3)) / 4, v["D(G(z))"], 6);
        Assert.Equal(2 * Math.Log(2), v["D_chance"], 12);
        Assert.False(v.ContainsKey("W_dist"));
    }

    [Fact]
    public void DiscriminatorStatsUsesTheLeastSquaresThresholdAndTheCriticDistance()
    {
        using var stats = new StatsCollector();
        using var real = tensor(new[] { 0.9f, 0.4f });
        using var fake = tensor(new[] { 0.1f, 0.6f });
        DiscriminatorStats.Report(stats, real, fake, AdversarialLoss.Ls);
        var v = stats.Flush(1, 2, 1, 0).Values;
        Assert.Equal(0.5, v["D_acc_real"], 6);
        Assert.Equal(0.5, v["D_acc_fake"], 6);
        Assert.Equal(0.0, v["r_t"], 6);
        Assert.Equal(0.5, v["D_chance"], 12);

        DiscriminatorStats.Report(stats, real, fake, AdversarialLoss.W);
        var w = stats.Flush(1, 2, 2, 0).Values;
        Assert.Equal(0.65 - 0.35, w["W_dist"], 6);
        Assert.Equal(1.0, w["D_acc_real"], 6);
        Assert.False(w.ContainsKey("D_chance"));
    }

    [Fact]
    public void MeanPairwiseDistanceAveragesOverDistinctPairs()
    {
        using var pts = tensor(new float[,] { { 0, 0 }, { 3, 4 }, { 0, 4 } });
        using var d = SampleDiversity.MeanPairwiseDistance(pts);
        Assert.Equal(4.0, d.item<double>(), 9);   // (5 + 4 + 3) / 3
        using var same = zeros(5, 3, 2, 2);
        using var d0 = SampleDiversity.MeanPairwiseDistance(same);
        Assert.Equal(0.0, d0.item<double>());
    }

    [Fact]
    public void PowerIterationFindsTheLargestSingularValueOfAConvKernel()
    {
        using var gen = new Generator(7);
        using var w = randn([16, 8, 3, 3], generator: gen);
        using var ns = new NetworkStatistics([], []) { PowerIterations = 200 };
        using var sigma = ns.LargestSingularValue("k", w);
        using var exact = linalg.svdvals(w.reshape(16, -1)).max();
        Assert.Equal(exact.item<float>(), sigma.item<float>(), 3);
        // The vector persists: a later call with few iterations stays on the answer.
        using var again = ns.LargestSingularValue("k", w);
        Assert.Equal(exact.item<float>(), again.item<float>(), 3);
    }

    [Fact]
    public void TheCollectorNamesTheTermThatDivergedFirstInTimeNotInReportOrder()
    {
        using var stats = new StatsCollector();
        using var one = tensor(1.0);
        using var nan = tensor(double.NaN);
        // Iteration 1: A is reported before B, both finite. Iteration 2: B goes NaN. Iteration 3: A follows.
        stats.Report("A", one);
        stats.Report("B", one);
        stats.Report("A", one);
        stats.Report("B", nan);
        stats.Report("A", nan);
        stats.Report("B", nan);
        Assert.Equal("B", stats.FirstNonFinite()!.Value.Name);
        var r = stats.Flush(1, 3, 3, 0);
        Assert.Equal("B", r.FirstNonFinite);
        Assert.Equal(["A", "B"], r.Values.Keys.ToArray());

        // Host-side values take part in the same order.
        stats.Report("C", double.PositiveInfinity);
        stats.Report("A", nan);
        Assert.Equal("C", stats.Flush(1, 4, 4, 0).FirstNonFinite);
        stats.Report("A", one);
        Assert.Null(stats.Flush(1, 5, 5, 0).FirstNonFinite);
    }

    [Fact]
    public void TheCollectorPlacesTheFirstNonFiniteReportInItsIterationAcrossFlushes()
    {
        using var stats = new StatsCollector();
        using var one = tensor(1.0);
        using var nan = tensor(double.NaN);
        for (long it = 1; it <= 4; it++)
        {
            stats.CurrentIteration = it;
            stats.Report("A", it >= 3 ? nan : one);
            stats.Report("B", it >= 2 && it != 4 ? double.NaN : 1.0);
        }
        // B (a host value) went first, in iteration 2; A followed in 3.
        Assert.Equal(("B", double.NaN, (long?)2), stats.FirstNonFinite());
        var r = stats.Flush(1, 4, 4, 0);
        Assert.Equal("B", r.FirstNonFinite);
        Assert.Equal(2, r.FirstNonFiniteIteration);
        Assert.Equal((1, 2), GanSharp.Diagnostics.NonFiniteDetector.Interval(r, 0));

        // After a flush, within the same iteration (an epoch's evaluation), reports still belong to it.
        stats.Report("C", double.PositiveInfinity);
        Assert.Equal(4, stats.Flush(1, 4, 4, 0).FirstNonFiniteIteration);
        stats.CurrentIteration = 5;
        stats.Report("A", one);
        Assert.Null(stats.Flush(1, 5, 5, 0).FirstNonFiniteIteration);
    }

    [Fact]
    public void ValidationRunsAtTheFirstLogStepAfterEachPeriod()
    {
        using var stats = new StatsCollector();
        var ctx = new StepContext(stats);
        var schedule = new ValidationSchedule(25);
        var due = new List<long>();
        for (long it = 0; it < 100; it++)
        {
            ctx.Iteration = it;
            ctx.IsLogStep = (it + 1) % 10 == 0;
            if (schedule.IsDue(ctx)) due.Add(it);
        }
        Assert.Equal([9L, 39L, 69L, 99L], due);
        using var v = tensor(2.5);
        ValidationStats.Report(stats, "VGG", v);
        Assert.Equal(2.5, stats.Flush(1, 1, 1, 0).Values["val/VGG"]);
    }
}
