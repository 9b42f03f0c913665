namespace GanSharp.Diagnostics;

/// <summary>Thresholds of <see cref="GWinsDetector"/>.</summary>
internal sealed record GWinsOptions
{
    /// <summary>Records the condition must hold for.</summary>
    public int Window { get; init; } = 10;

    /// <summary>D accuracy within this distance of 50 % counts as guessing.</summary>
    public double AccuracyBand { get; init; } = 0.05;

    /// <summary>D loss within this fraction of its chance value counts as stuck at chance.</summary>
    public double ChanceTolerance { get; init; } = 0.05;

    /// <summary>
    /// Chance value of the summed D loss when the run does not log <c>D_chance</c>: 2.0 is SPADE's hinge loss (each
    /// of D_Fake and D_real is 1 when D outputs 0), the reference's default.
    /// </summary>
    public double DefaultChance { get; init; } = 2.0;
}

/// <summary>
/// D collapse / G winning: D's accuracy stays at about 50 % with its loss stuck at the chance value, so G gets no
/// useful supervision and may produce anything without penalty (first-aid kit).
/// </summary>
internal sealed class GWinsDetector(GWinsOptions? options = null) : Detector
{
    private readonly GWinsOptions _o = options ?? new();

    public override string Id => DetectorIds.GWins;

    public override string Title => "D collapsed / G winning";

    public override IReadOnlyList<string> Plots { get; } = ["losses", "accuracy", "dx"];

    public override Finding? At(StatsSeries s, int i)
    {
        if (s.DLoss(i) is null && s.Get(i, "D_acc") is null) return null;
        // A critic's loss has no chance level.
        if (s.Get(i, "W_dist") is not null) return null;
        int start = i - _o.Window + 1;
        double chance = s.Get(i, "D_chance") ?? _o.DefaultChance;
        var dl = s.Window(i, _o.Window, s.DLoss);
        bool lossStuck = dl is not null && dl.All(v => Math.Abs(v - chance) <= _o.ChanceTolerance * chance);
        if (s.Get(i, "D_acc") is not null)
        {
            var acc = s.Window(i, _o.Window, j => s.Get(j, "D_acc"));
            if (acc is null) return new Finding(false, start, "");
            bool guessing = acc.All(a => Math.Abs(a - 0.5) <= _o.AccuracyBand);
            bool fires = guessing && (dl is null || lossStuck);
            string loss = dl is null ? "" : $", D loss {F(dl[^1])} vs chance {F(chance)}";
            return new Finding(fires, start, $"D accuracy within {F(_o.AccuracyBand)} of 0.5 for {_o.Window} records (now {F(acc[^1])}{loss})");
        }
        if (dl is null) return new Finding(false, start, "");
        return new Finding(lossStuck, start, $"D loss within {F(_o.ChanceTolerance * 100)} % of its chance value {F(chance)} for {_o.Window} " +
            $"records (now {F(dl[^1])})");
    }
}
