namespace GanSharp.Diagnostics;

/// <summary>Thresholds of <see cref="DMemorisingDetector"/>.</summary>
public sealed record DMemorisingOptions
{
    /// <summary>Records the condition must hold for.</summary>
    public int Window { get; init; } = 5;

    /// <summary>Training-minus-held-out real accuracy at or above which D memorises (BigGAN's test).</summary>
    public double AccuracyGap { get; init; } = 0.2;

    /// <summary>Without held-out accuracy: r_t at or above which D is over-fitting (StyleGAN2-ADA targets 0.6).</summary>
    public double RtMax { get; init; } = 0.9;
}

/// <summary>
/// D memorising the training set: D accuracy on training reals far above that on held-out reals over a window, or,
/// when no held-out split is logged, r_t = E[sign(D(real))] near 1 (StyleGAN2-ADA's signal, which alone cannot tell
/// memorisation from a D that overpowers G).
/// </summary>
public sealed class DMemorisingDetector(DMemorisingOptions? options = null) : Detector
{
    private readonly DMemorisingOptions _o = options ?? new();

    public override string Id => DetectorIds.DMemorising;

    public override string Title => "D memorising the training set";

    public override IReadOnlyList<string> Plots { get; } = ["accuracy", "other"];

    public override Finding? At(StatsSeries s, int i)
    {
        int start = i - _o.Window + 1;
        if (s.Get(i, "D_acc_heldout") is not null && s.Get(i, "D_acc_real") is not null)
        {
            var gap = s.Window(i, _o.Window, j => s.Get(j, "D_acc_real") - s.Get(j, "D_acc_heldout"));
            if (gap is null) return new Finding(false, start, "");
            return new Finding(gap.All(g => g >= _o.AccuracyGap), start,
                $"D accuracy on training reals exceeds held-out reals by {F(gap[^1] * 100)} points (threshold {F(_o.AccuracyGap * 100)} over {_o.Window} records)");
        }
        if (s.Get(i, "r_t") is null) return null;
        var rt = s.Window(i, _o.Window, j => s.Get(j, "r_t"));
        if (rt is null) return new Finding(false, start, "");
        return new Finding(rt.All(r => r >= _o.RtMax), start,
            $"r_t = {F(rt[^1])} ≥ {F(_o.RtMax)} for {_o.Window} records (no held-out accuracy logged, so this may also be D overpowering G)");
    }
}
