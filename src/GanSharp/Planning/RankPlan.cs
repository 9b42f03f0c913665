namespace GanSharp.Planning;

/// <summary>
/// One data-parallel training over <see cref="Ranks"/> machines like this one (mpirun, one rank per machine), projected
/// from the measured step: each rank computes its share of the batch, then the gradients of G, D and E are averaged by
/// a ring allreduce that sends and receives parameters × 4 bytes × 2(K−1)/K per rank and iteration. The projection
/// adds the two, an upper bound: the sums start during the backward as blocks finish, so part of the allreduce hides
/// behind it (how much depends on the network and the cores left for MPI; `bench ranks` measures it here). Latency is
/// ignored, which the bucketing keeps to a few calls per step.
/// </summary>
public sealed record RankProjection
{
    public required int Ranks { get; init; }

    public required double BandwidthGbps { get; init; }

    /// <summary>Seconds of one rank's forward and backward on its batch / K images.</summary>
    public required double ComputeSeconds { get; init; }

    /// <summary>Bytes each rank sends (and receives) per iteration.</summary>
    public required double AllreduceBytes { get; init; }

    public double AllreduceSeconds => AllreduceBytes * 8 / (BandwidthGbps * 1e9);

    public double StepSeconds => ComputeSeconds + AllreduceSeconds;

    /// <summary>Seconds of one iteration on one machine with the whole batch.</summary>
    public required double OneMachineSeconds { get; init; }

    public double Speedup => OneMachineSeconds / StepSeconds;

    /// <summary>Hours per epoch, or null without a data set size.</summary>
    public required double? EpochHours { get; init; }

    /// <summary>True when moving the gradients takes at least as long as computing them.</summary>
    public bool NetworkBound => AllreduceSeconds >= ComputeSeconds;

    /// <summary>The bandwidth at which the allreduce takes as long as the computation, Gb/s.</summary>
    public double BreakEvenGbps => ComputeSeconds > 0 ? AllreduceBytes * 8 / ComputeSeconds / 1e9 : double.PositiveInfinity;
}

public static class RankPlanner
{
    /// <summary>Bytes of one float32 gradient entry.</summary>
    public const int BytesPerParameter = 4;

    /// <summary>Projects <paramref name="e"/>'s training onto <paramref name="ranks"/> machines joined at <paramref name="gbps"/>.</summary>
    public static RankProjection Project(PlanEstimate e, int ranks, double gbps)
    {
        int batch = e.Options.BatchSize;
        Check(batch, ranks, gbps);
        double compute = e.FixedSeconds + e.SecondsPerMegapixel * e.Pixels / 1e6 * (batch / ranks);
        double bytes = (double)e.Parameters.Total * BytesPerParameter * 2 * (ranks - 1) / ranks;
        double step = compute + bytes * 8 / (gbps * 1e9);
        return new RankProjection
        {
            Ranks = ranks, BandwidthGbps = gbps, ComputeSeconds = compute, AllreduceBytes = bytes,
            OneMachineSeconds = e.SecondsPerIteration,
            EpochHours = e.Options.DatasetSize is int n ? n / batch * step / 3600 : null,
        };
    }

    /// <summary>Refuses a rank count that does not divide the global batch, or a bandwidth that is not positive.</summary>
    public static void Check(int batch, int ranks, double gbps)
    {
        if (ranks < 1 || batch % ranks != 0)
            throw new GanSharpException(ErrorKind.Usage,
                $"--ranks {ranks} must be at least 1 and divide --batch-size {batch} (the global batch): use a divisor of {batch}.");
        if (!(gbps > 0))
            throw new GanSharpException(ErrorKind.Usage, $"--bandwidth-gbps {gbps} must be above 0, e.g. 1 for gigabit Ethernet.");
    }

    /// <summary>What the projection means, in sentences for the plan's verdict.</summary>
    public static IReadOnlyList<string> Verdict(RankProjection p)
    {
        var lines = new List<string>();
        string ratio = $"{p.AllreduceBytes / 1e6:N0} MB per rank and iteration take {p.AllreduceSeconds:F2} s at {p.BandwidthGbps:G} Gb/s " +
            $"against {p.ComputeSeconds:F2} s of computing";
        if (p.Ranks == 1) return lines;
        if (p.NetworkBound)
            lines.Add($"the network, not the CPUs, is the limit with {p.Ranks} ranks: {ratio}; above {p.BreakEvenGbps:F1} Gb/s computing would "
                + "dominate, or use a larger --batch-size so each rank computes longer per allreduce.");
        else
            lines.Add($"the CPUs are the limit with {p.Ranks} ranks: {ratio} (the network would limit below {p.BreakEvenGbps:F1} Gb/s).");
        lines.Add($"{p.Ranks} machines would run {p.Speedup:F2}x as fast as this one alone (ideal {p.Ranks}x).");
        return lines;
    }
}
