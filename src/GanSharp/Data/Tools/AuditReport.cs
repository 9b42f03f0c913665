using System.Globalization;
using System.Net;
using System.Text;

namespace GanSharp.Data.Tools;

/// <summary>
/// Renders an <see cref="AuditResult"/> as one self-contained HTML file: plots are PNGs embedded as base64, so the
/// report can be mailed or archived without a folder of assets. Every string from the user's files is escaped.
/// </summary>
public static class AuditReport
{
    private const int ListedClusters = 30, ListedLeaks = 50;

    /// <summary>Writes the report atomically to <paramref name="path"/>.</summary>
    /// <param name="result">The audit.</param>
    /// <param name="path">The .html file.</param>
    /// <param name="classNames">Names by label value, when known (e.g. from a class table); null shows numbers.</param>
    /// <param name="title">Shown as the page heading (usually the label folder).</param>
    public static void Write(AuditResult result, string path, IReadOnlyList<string>? classNames, string title)
    {
        string Name(int c) => classNames is not null && c < classNames.Count ? $"{c} {classNames[c]}" : c.ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>GanSharp data audit</title><style>")
          .Append("body{font-family:sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}")
          .Append("th{background:#eee}td.l{text-align:left}.bad{color:#a00}.ok{color:#070}li{margin:4px 0}</style></head><body>");
        sb.Append("<h1>Data audit</h1><p>").Append(E(title)).Append("</p>");

        sb.Append("<h2>Verdict</h2>");
        if (result.Problems.Count == 0) sb.Append("<p class=\"ok\">No problems found.</p>");
        else
        {
            sb.Append("<ul>");
            foreach (var p in result.Problems) sb.Append("<li class=\"bad\"><b>").Append(E(p.Kind)).Append("</b>: ").Append(E(p.Message)).Append("</li>");
            sb.Append("</ul>");
        }
        foreach (var n in result.Notices) sb.Append("<p>").Append(E(n)).Append("</p>");

        sb.Append("<h2>Size</h2><table>")
          .Append(Row("pairs", result.Pairs.ToString("N0", CultureInfo.InvariantCulture)))
          .Append(Row("effective size (near-duplicate clusters counted once)", result.EffectiveSize.ToString("N0", CultureInfo.InvariantCulture)))
          .Append(Row("scene kind", result.Scene == SceneKind.Street ? "dense structured scenes" : "texture-like"))
          .Append(Row("mean classes per image", result.MeanClassesPerImage.ToString("F1", CultureInfo.InvariantCulture)))
          .Append(Row("examples the guidance asks for", result.RecommendedSize.ToString("N0", CultureInfo.InvariantCulture) + (result.Scene == SceneKind.Street ? "-10,000" : "")))
          .Append("</table>");

        sb.Append("<h2>Classes</h2>");
        sb.Append(Png(ClassPlot(result, Name)));
        sb.Append("<table><tr><th>class</th><th>pixel share</th><th>image share</th><th>images</th><th></th></tr>");
        foreach (var c in result.Classes)
            sb.Append("<tr><td class=\"l\">").Append(E(Name(c.Class))).Append("</td><td>").Append(c.PixelShare.ToString("P2", CultureInfo.InvariantCulture))
              .Append("</td><td>").Append(c.ImageShare.ToString("P1", CultureInfo.InvariantCulture)).Append("</td><td>").Append(c.Images)
              .Append("</td><td class=\"l bad\">").Append(c.Images == 0 ? "absent" : c.Rare ? "rare" : "").Append("</td></tr>");
        sb.Append("</table>");

        sb.Append("<h2>Image sizes</h2><table><tr><th>width</th><th>height</th><th>aspect</th><th>pairs</th></tr>");
        foreach (var (w, h, count) in result.Sizes)
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{w}</td><td>{h}</td><td>{w / (double)h:F2}</td><td>{count}</td></tr>");
        sb.Append("</table>");

        sb.Append(CultureInfo.InvariantCulture, $"<h2>Near-duplicates</h2><p>Perceptual hash (64-bit DCT), Hamming distance at most {result.HashThreshold}. ");
        sb.Append(CultureInfo.InvariantCulture, $"{result.NearDuplicateClusters.Count} clusters.</p>");
        if (result.NearDuplicateClusters.Count > 0)
        {
            sb.Append("<ol>");
            foreach (var c in result.NearDuplicateClusters.Take(ListedClusters))
                sb.Append("<li>").Append(c.Count).Append(" photos: ").Append(E(string.Join(", ", c.Take(12)))).Append(c.Count > 12 ? ", ..." : "").Append("</li>");
            sb.Append("</ol>");
            if (result.NearDuplicateClusters.Count > ListedClusters)
                sb.Append(CultureInfo.InvariantCulture, $"<p>and {result.NearDuplicateClusters.Count - ListedClusters} more clusters.</p>");
        }

        sb.Append("<h2>Train/test leakage</h2>");
        if (result.TestImages == 0) sb.Append("<p>No test folder given (--test-image-dir).</p>");
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p>{result.Leakage.Count} of {result.TestImages} test photos have a near-duplicate in training.</p>");
            if (result.Leakage.Count > 0)
            {
                sb.Append("<table><tr><th>test photo</th><th>training pair</th><th>distance</th></tr>");
                foreach (var l in result.Leakage.Take(ListedLeaks))
                    sb.Append("<tr><td class=\"l\">").Append(E(Path.GetFileName(l.TestImage))).Append("</td><td class=\"l\">").Append(E(l.TrainStem))
                      .Append("</td><td>").Append(l.Distance).Append("</td></tr>");
                sb.Append("</table>");
            }
        }
        sb.Append("</body></html>");
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static string Row(string k, string v) => $"<tr><td class=\"l\">{E(k)}</td><td>{E(v)}</td></tr>";

    private static string Png(byte[] png) => $"<p><img alt=\"class shares\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\"></p>";

    /// <summary>Pixel share and image share per class, side by side; rare classes stand out as short bar pairs.</summary>
    private static byte[] ClassPlot(AuditResult result, Func<int, string> name)
    {
        var plot = new ScottPlot.Plot();
        var pixelBars = new List<ScottPlot.Bar>();
        var imageBars = new List<ScottPlot.Bar>();
        for (int i = 0; i < result.Classes.Count; i++)
        {
            var c = result.Classes[i];
            pixelBars.Add(new ScottPlot.Bar { Position = i * 3, Value = c.PixelShare * 100, FillColor = ScottPlot.Colors.SteelBlue });
            imageBars.Add(new ScottPlot.Bar { Position = i * 3 + 1, Value = c.ImageShare * 100, FillColor = c.Rare ? ScottPlot.Colors.FireBrick : ScottPlot.Colors.Orange });
        }
        var pb = plot.Add.Bars(pixelBars);
        pb.LegendText = "% of pixels";
        var ib = plot.Add.Bars(imageBars);
        ib.LegendText = "% of images (red: rare)";
        plot.Axes.Bottom.SetTicks(
            Enumerable.Range(0, result.Classes.Count).Select(i => i * 3 + 0.5).ToArray(),
            result.Classes.Select(c => name(c.Class)).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleRight;
        plot.Axes.Margins(bottom: 0);
        plot.YLabel("percent");
        plot.Title("Class shares");
        plot.ShowLegend();
        return plot.GetImageBytes(1000, 420, ScottPlot.ImageFormat.Png);
    }
}
