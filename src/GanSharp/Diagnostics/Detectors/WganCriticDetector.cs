namespace GanSharp.Diagnostics;

/// <summary>
/// WGAN critic anomalies: the distance estimate <c>W_dist</c> = E[D(x)] − E[D(G(z))] negative over a window (the
/// critic ranks fakes above reals: it is under-trained) or its scale (or that of D(x), D(G(z))) beyond a bound (the
/// Lipschitz constraint is not holding).
/// </summary>
internal sealed class WganCriticDetector(int window = 5, double scaleMax = 100.0) : Detector
{
    /// <summary>Records a negative estimate must last.</summary>
    public int Window { get; } = window;

    /// <summary>Magnitude of W_dist, D(x) or D(G(z)) above which the scale is anomalous.</summary>
    public double ScaleMax { get; } = scaleMax;

    public override string Id => DetectorIds.WganCritic;

    public override string Title => "WGAN critic sign/scale anomaly";

    public override IReadOnlyList<string> Plots { get; } = ["dx", "other"];

    public override Finding? At(StatsSeries s, int i)
    {
        if (s.Get(i, "W_dist") is not double w) return null;
        double scale = Math.Max(Math.Abs(w), Math.Max(Math.Abs(s.Get(i, "D(x)") ?? 0), Math.Abs(s.Get(i, "D(G(z))") ?? 0)));
        if (scale > ScaleMax)
            return new Finding(true, i, $"critic outputs reach {F(scale)} (bound {F(ScaleMax)}): the Lipschitz constraint is not holding");
        var ws = s.Window(i, Window, j => s.Get(j, "W_dist"));
        if (ws is null) return new Finding(false, i - Window + 1, "");
        return new Finding(ws.All(x => x < 0), i - Window + 1,
            $"W_dist = E[D(x)] − E[D(G(z))] = {F(w)} has been negative for {Window} records: the critic ranks fakes above reals");
    }
}
