namespace GanSharp.Diagnostics;

/// <summary>Thresholds of <see cref="DOverpowersGDetector"/>.</summary>
internal sealed record DOverpowersGOptions
{
    /// <summary>Records the condition must hold for ("for a considerable time" in the first-aid kit).</summary>
    public int Window { get; init; } = 5;

    /// <summary>D accuracy (mean of real and fake) at or above which D is winning (the kit says 80–85 %).</summary>
    public double AccuracyMin { get; init; } = 0.85;

    /// <summary>Without accuracy: summed D loss at or below which it is "near zero".</summary>
    public double DLossNearZero { get; init; } = 0.1;

    /// <summary>Without accuracy: G adversarial loss at or above which it is "high".</summary>
    public double GLossHigh { get; init; } = 1.0;
}

/// <summary>
/// D overpowering G (first-aid kit): D's accuracy above 85 % sustained over a window, or, when accuracy is not
/// logged (a reference loss_log.txt), D's loss near zero while G's adversarial loss is high over the window.
/// </summary>
internal sealed class DOverpowersGDetector(DOverpowersGOptions? options = null) : Detector
{
    private readonly DOverpowersGOptions _o = options ?? new();

    public override string Id => DetectorIds.DOverpowersG;

    public override string Title => "D overpowering G";

    public override IReadOnlyList<string> Plots { get; } = ["losses", "accuracy", "dx"];

    public override Finding? At(StatsSeries s, int i)
    {
        int start = i - _o.Window + 1;
        if (s.Get(i, "D_acc") is not null)
        {
            var acc = s.Window(i, _o.Window, j => s.Get(j, "D_acc"));
            if (acc is null) return new Finding(false, start, "");
            bool fires = acc.All(a => a >= _o.AccuracyMin);
            string losses = s.DLoss(i) is double d && s.GLoss(i) is double g ? $", D loss {F(d)}, G loss {F(g)}" : "";
            return new Finding(fires, start, $"D accuracy ≥ {F(_o.AccuracyMin)} for {_o.Window} records (min {F(acc.Min())}, now " +
                $"{F(acc[^1])}{losses})");
        }
        // A critic's loss has no "near zero" (it is unbounded and signed); the WGAN detector judges it.
        if (s.DLoss(i) is null || s.GLoss(i) is null || s.Get(i, "W_dist") is not null) return null;
        var dl = s.Window(i, _o.Window, s.DLoss);
        var gl = s.Window(i, _o.Window, s.GLoss);
        if (dl is null || gl is null) return new Finding(false, start, "");
        bool f = dl.All(v => v <= _o.DLossNearZero) && gl.All(v => v >= _o.GLossHigh);
        return new Finding(f, start, $"D loss ≤ {F(_o.DLossNearZero)} (max {F(dl.Max())}) " +
            $"while G loss ≥ {F(_o.GLossHigh)} (min {F(gl.Min())}) for {_o.Window} records");
    }
}
