namespace GanSharp.Diagnostics;

/// <summary>Thresholds of <see cref="DMemorisingDetector"/>.</summary>
internal sealed record DMemorisingOptions
{
    /// <summary>Records (with held-out accuracy: held-out measurements) the condition must hold for.</summary>
    public int Window { get; init; } = 5;

    /// <summary>Training-minus-held-out real accuracy at or above which D memorises (BigGAN's test).</summary>
    public double AccuracyGap { get; init; } = 0.2;

    /// <summary>Without held-out accuracy: r_t at or above which D is over-fitting (StyleGAN2-ADA targets 0.6).</summary>
    public double RtMax { get; init; } = 0.9;
}

/// <summary>
/// D memorising the training set: D accuracy on training reals far above that on held-out reals over the last few
/// held-out measurements, or, when no held-out split is logged, r_t = E[sign(D(real))] near 1 over a window
/// (StyleGAN2-ADA's signal, which alone cannot tell memorisation from a D that overpowers G).
/// </summary>
/// <remarks>
/// Held-out accuracy may be logged at every record (the 2-D families) or only at validation steps (SPADE, every
/// <c>--val-every</c> iterations); either way the window is made of the records that have it, the judgement stands
/// until the next measurement, and once a run has logged it the r_t fallback no longer applies. The training side is
/// <c>D_acc_train</c> (training reals scored exactly as the held-out ones) when logged, else the training step's
/// <c>D_acc_real</c>.
/// </remarks>
internal sealed class DMemorisingDetector(DMemorisingOptions? options = null) : Detector
{
    private readonly DMemorisingOptions _o = options ?? new();

    public override string Id => DetectorIds.DMemorising;

    public override string Title => "D memorising the training set";

    public override IReadOnlyList<string> Plots { get; } = ["accuracy", "other"];

    private static double? TrainAccuracy(StatsSeries s, int j) => s.Get(j, "D_acc_train") ?? s.Get(j, "D_acc_real");

    public override Finding? At(StatsSeries s, int i)
    {
        var heldOut = s.IndicesWith("D_acc_heldout", i);
        if (heldOut.Count > 0)
        {
            // Between held-out measurements the last ones still stand (as for validation losses), so an episode
            // neither ends nor restarts at every record without one.
            if (heldOut.Count < _o.Window) return new Finding(false, heldOut[0], "");
            var points = heldOut.Skip(heldOut.Count - _o.Window).ToList();
            var gaps = points.Select(j => TrainAccuracy(s, j) - s.Get(j, "D_acc_heldout")).ToList();
            if (gaps.Any(g => g is null)) return new Finding(false, points[0], "");
            var gap = gaps.Select(g => g!.Value).ToList();
            string side = s.Get(points[^1], "D_acc_train") is not null ? "training reals" : "the training batches' reals";
            string what = points[^1] - points[0] == _o.Window - 1 ? $"{_o.Window} records" : $"the last {_o.Window} held-out measurements";
            return new Finding(gap.All(g => g >= _o.AccuracyGap), points[0],
                $"D accuracy on {side} exceeds held-out reals by {F(gap[^1] * 100)} points (threshold {F(_o.AccuracyGap * 100)} over {what})");
        }
        int start = i - _o.Window + 1;
        if (s.Get(i, "r_t") is null) return null;
        var rt = s.Window(i, _o.Window, j => s.Get(j, "r_t"));
        if (rt is null) return new Finding(false, start, "");
        return new Finding(rt.All(r => r >= _o.RtMax), start,
            $"r_t = {F(rt[^1])} ≥ {F(_o.RtMax)} for {_o.Window} records (no held-out accuracy logged, so this may also be D overpowering G)");
    }
}
