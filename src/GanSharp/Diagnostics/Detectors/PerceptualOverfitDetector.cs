namespace GanSharp.Diagnostics;

/// <summary>
/// Perceptual-loss over-fitting (first-aid kit): the training VGG loss keeps falling while the validation VGG loss
/// (<c>val/VGG</c>, logged every K iterations) rises over the last few validation points.
/// </summary>
internal sealed class PerceptualOverfitDetector(int validationPoints = 5, double minRise = 0.05, string term = "VGG") : Detector
{
    /// <summary>Validation points the trends are judged over.</summary>
    public int ValidationPoints { get; } = validationPoints;

    /// <summary>Rise of the validation loss above its minimum in the window, as a fraction, that counts.</summary>
    public double MinRise { get; } = minRise;

    /// <summary>The perceptual term (train name; validation is <c>val/</c> + it).</summary>
    public string Term { get; } = term;

    public override string Id => DetectorIds.PerceptualOverfit;

    public override string Title => "Perceptual (VGG) loss over-fitting";

    public override IReadOnlyList<string> Plots { get; } = ["validation"];

    public override Finding? At(StatsSeries s, int i)
    {
        string val = "val/" + Term;
        var points = s.IndicesWith(val, i);
        if (points.Count == 0) return null;
        if (points.Count < ValidationPoints) return new Finding(false, points[0], "");
        var idx = points.Skip(points.Count - ValidationPoints).ToList();
        var v = idx.Select(j => s.Get(j, val)!.Value).ToList();
        // Train VGG is noisy per record; average it between consecutive validation points.
        var t = new List<double>();
        for (int k = 0; k < idx.Count; k++)
        {
            int from = k == 0 ? idx[0] : idx[k - 1] + 1;
            var xs = Enumerable.Range(from, idx[k] - from + 1).Select(j => s.Get(j, Term)).OfType<double>().ToList();
            if (xs.Count > 0) t.Add(xs.Average());
        }
        if (t.Count < 2) return new Finding(false, idx[0], "");
        bool valRises = StatsSeries.Slope(v) > 0 && v[^1] >= (1 + MinRise) * v.Min();
        bool trainFalls = StatsSeries.Slope(t) < 0;
        return new Finding(valRises && trainFalls, idx[0],
            $"over the last {ValidationPoints} validation points train {Term} went {F(t[0])} → {F(t[^1])} " +
            $"while {val} went {F(v.Min())} (min) → {F(v[^1])}");
    }
}
