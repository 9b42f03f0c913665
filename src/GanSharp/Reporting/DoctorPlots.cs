using GanSharp.Diagnostics;

namespace GanSharp.Reporting;

/// <summary>The doctor report's curves: one PNG per group of statistics, with the episodes of fired detectors shaded.</summary>
internal static class DoctorPlots
{
    private const int PlotWidth = 1000;
    private const int PlotHeight = 320;

    private static readonly HashSet<string> NonLossScalars = new(StringComparer.Ordinal)
    {
        "D_acc", "D_acc_real", "D_acc_fake", "D_acc_heldout", "D(x)", "D(G(z))", "r_t", "r_t_heldout", "D_chance",
        "W_dist", "diversity", "diversity_real", "diversity_z", "D_acc_train", "r_t_train", "M", "k",
    };

    /// <summary>Which statistics each plot group draws, from the names the run logged.</summary>
    public static IReadOnlyList<(string Group, string Title, string YLabel, List<string> Names, bool Log10)> PlotGroups(
        IReadOnlyList<string> names)
    {
        bool IsLoss(string n) => !n.Contains('/') && !NonLossScalars.Contains(n) && !MetricJumpDetector.IsMetric(n);
        bool IsGrad(string n) => n.StartsWith("grad/", StringComparison.Ordinal) && n.Count(c => c == '/') == 1;
        bool IsSpectral(string n) => n.StartsWith("sigma_max/", StringComparison.Ordinal) || n.StartsWith("weight/", StringComparison.Ordinal);
        bool IsOther(string n) => n is "diversity" or "diversity_real" or "diversity_z" or "r_t" or "r_t_heldout" or "r_t_train" or "M"
            || MetricJumpDetector.IsMetric(n);
        var groups = new List<(string, string, string, List<string>, bool)>
        {
            ("losses", "Losses", "loss", names.Where(IsLoss).ToList(), false),
            ("accuracy", "D accuracy", "accuracy", names.Where(n => n.StartsWith("D_acc", StringComparison.Ordinal)).ToList(), false),
            ("dx", "D(x) and D(G(z))", "D output", names.Where(n => n is "D(x)" or "D(G(z))" or "W_dist").ToList(), false),
            ("grads", "Gradient norms (log10; ganhacks' alarm at 100 = 2)", "log10 norm", names.Where(IsGrad).ToList(), true),
            ("spectral", "Largest singular value and weight norm per network", "value", names.Where(IsSpectral).ToList(), false),
            ("validation", "Validation losses (and their training terms)", "loss", ValidationNames(names), false),
            ("other", "Diversity, r_t, BEGAN M, evaluation metrics", "value", names.Where(IsOther).ToList(), false),
        };
        return groups.Where(g => g.Item4.Count > 0).ToList();
    }

    /// <summary>Draws every group that has finite values into <paramref name="outDir"/> as <c>&lt;group&gt;.png</c>.</summary>
    public static IReadOnlyList<ReportPlot> Render(StatsSeries s, IReadOnlyList<Verdict> verdicts, string xLabel, string outDir)
    {
        var plots = new List<ReportPlot>();
        foreach (var (group, title, yLabel, names, log10) in PlotGroups(s.Names()))
        {
            var plt = new ScottPlot.Plot();
            ShadeEpisodes(plt, s, verdicts, group);
            if (DrawSeries(plt, s, names, log10) == 0) continue;
            if (group == "grads") plt.Add.HorizontalLine(2.0, 1, ScottPlot.Colors.Red, ScottPlot.LinePattern.Dashed);
            if (group == "accuracy") plt.Add.HorizontalLine(0.85, 1, ScottPlot.Colors.Gray, ScottPlot.LinePattern.Dashed);
            plt.Title(title);
            plt.XLabel(xLabel);
            plt.YLabel(yLabel);
            plt.ShowLegend(ScottPlot.Alignment.UpperRight);
            string path = Path.Combine(outDir, $"{group}.png");
            plt.SavePng(path, PlotWidth, PlotHeight);
            plots.Add(new ReportPlot(group, title, path, names));
        }
        return plots;
    }

    private static List<string> ValidationNames(IReadOnlyList<string> names)
    {
        var val = names.Where(n => n.StartsWith("val/", StringComparison.Ordinal)).ToList();
        var train = val.Select(v => v[4..]).Where(names.Contains).ToList();
        return [.. val, .. train];
    }

    // The episodes of every fired detector that names this group, one colour per detector, labelled once.
    private static void ShadeEpisodes(ScottPlot.Plot plt, StatsSeries s, IReadOnlyList<Verdict> verdicts, string group)
    {
        var detectorColors = new ScottPlot.Palettes.Dark();
        double step = MedianStep(s);
        for (int vi = 0; vi < verdicts.Count; vi++)
        {
            var v = verdicts[vi];
            if (v.Status != VerdictStatus.Fired || !v.Detector.Plots.Contains(group)) continue;
            var color = detectorColors.GetColor(vi).WithAlpha(0.22);
            bool first = true;
            foreach (var e in v.Episodes)
            {
                double x1 = s[e.StartIndex].Iteration - step / 2, x2 = s[e.EndIndex].Iteration + step / 2;
                var span = plt.Add.HorizontalSpan(x1, x2, color);
                if (first) span.LegendText = v.Detector.Title;
                first = false;
            }
        }
    }

    // One curve per statistic with finite values (positive ones on a log10 axis); returns how many were drawn.
    private static int DrawSeries(ScottPlot.Plot plt, StatsSeries s, List<string> names, bool log10)
    {
        var palette = new ScottPlot.Palettes.Category10();
        int drawn = 0;
        for (int k = 0; k < names.Count; k++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < s.Count; i++)
            {
                if (s.Get(i, names[k]) is not double y || !double.IsFinite(y)) continue;
                if (log10)
                {
                    if (y <= 0) continue;
                    y = Math.Log10(y);
                }
                xs.Add(s[i].Iteration);
                ys.Add(y);
            }
            if (xs.Count == 0) continue;
            var sc = plt.Add.Scatter(xs.ToArray(), ys.ToArray(), palette.GetColor(k));
            sc.LegendText = names[k];
            sc.LineWidth = 1.5f;
            // Sparse statistics (validation, FID) need markers to be seen; dense curves do not.
            sc.MarkerSize = xs.Count < 40 ? 5 : 0;
            drawn++;
        }
        return drawn;
    }

    private static double MedianStep(StatsSeries s)
    {
        if (s.Count < 2) return 1;
        var steps = Enumerable.Range(1, s.Count - 1).Select(i => (double)(s[i].Iteration - s[i - 1].Iteration))
            .Where(d => d > 0).OrderBy(d => d).ToList();
        return steps.Count == 0 ? 1 : steps[steps.Count / 2];
    }
}
