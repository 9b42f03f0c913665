using System.Globalization;

using GanSharp.Data.Tools;

namespace GanSharp.Reporting;

/// <summary>
/// Renders an <see cref="AuditResult"/> as one self-contained HTML file: plots are PNGs embedded as base64, so the
/// report can be mailed or archived without a folder of assets. Every string from the user's files is escaped.
/// </summary>
public static class AuditReport
{
    private const int ListedClusters = 30, ListedLeaks = 50;

    private const string Style =
        "body{font-family:sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse}"
        + "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        + "th{background:#eee}td.l{text-align:left}.bad{color:#a00}.ok{color:#070}li{margin:4px 0}";

    /// <summary>Writes the report atomically to <paramref name="path"/>.</summary>
    /// <param name="result">The audit.</param>
    /// <param name="path">The .html file.</param>
    /// <param name="classNames">Names by label value, when known (e.g. from a class table); null shows numbers.</param>
    /// <param name="title">Shown as the page heading (usually the label folder).</param>
    public static void Write(AuditResult result, string path, IReadOnlyList<string>? classNames, string title)
    {
        string Name(int c) => classNames is not null && c < classNames.Count
            ? $"{c} {classNames[c]}"
            : c.ToString(CultureInfo.InvariantCulture);
        var page = new HtmlPage("GanSharp data audit", Style).Heading(1, "Data audit").Paragraph(title);
        AppendVerdict(page, result);
        AppendSize(page, result);
        AppendClasses(page, result, Name);
        AppendSizes(page, result);
        AppendNearDuplicates(page, result);
        AppendLeakage(page, result);
        page.Write(path);
    }

    private static string E(string s) => HtmlPage.Escape(s);

    private static string N0(int n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static void AppendVerdict(HtmlPage page, AuditResult result)
    {
        page.Heading(2, "Verdict");
        if (result.Problems.Count == 0) page.Paragraph("No problems found.", "ok");
        else
        {
            page.Raw("<ul>");
            foreach (var p in result.Problems) page.Raw("<li class=\"bad\"><b>").Raw(E(p.Kind)).Raw("</b>: ").Raw(E(p.Message)).Raw("</li>");
            page.Raw("</ul>");
        }
        foreach (var n in result.Notices) page.Paragraph(n);
    }

    private static void AppendSize(HtmlPage page, AuditResult result)
    {
        bool street = result.Scene == SceneKind.Street;
        page.Heading(2, "Size").Raw("<table>")
            .KeyRow("pairs", N0(result.Pairs), "td", "l")
            .KeyRow("effective size (near-duplicate clusters counted once)", N0(result.EffectiveSize), "td", "l")
            .KeyRow("scene kind", street ? "dense structured scenes" : "texture-like", "td", "l")
            .KeyRow("mean classes per image", result.MeanClassesPerImage.ToString("F1", CultureInfo.InvariantCulture), "td", "l")
            .KeyRow("examples the guidance asks for", N0(result.RecommendedSize) + (street ? "-10,000" : ""), "td", "l")
            .Raw("</table>");
    }

    private static void AppendClasses(HtmlPage page, AuditResult result, Func<int, string> name)
    {
        page.Heading(2, "Classes").Raw("<p>").Image("class shares", ClassPlot(result, name)).Raw("</p>");
        page.Raw("<table><tr><th>class</th><th>pixel share</th><th>image share</th><th>images</th><th></th></tr>");
        foreach (var c in result.Classes)
            page.Raw("<tr><td class=\"l\">").Raw(E(name(c.Class))).Raw("</td><td>").Raw(c.PixelShare.ToString("P2", CultureInfo.InvariantCulture))
                .Raw("</td><td>").Raw(c.ImageShare.ToString("P1", CultureInfo.InvariantCulture))
                .Raw(string.Create(CultureInfo.InvariantCulture, $"</td><td>{c.Images}</td><td class=\"l bad\">"))
                .Raw(c.Images == 0 ? "absent" : c.Rare ? "rare" : "").Raw("</td></tr>");
        page.Raw("</table>");
    }

    private static void AppendSizes(HtmlPage page, AuditResult result)
    {
        page.Heading(2, "Image sizes").Raw("<table><tr><th>width</th><th>height</th><th>aspect</th><th>pairs</th></tr>");
        foreach (var (w, h, count) in result.Sizes)
            page.Raw(string.Create(CultureInfo.InvariantCulture, $"<tr><td>{w}</td><td>{h}</td><td>{w / (double)h:F2}</td><td>{count}</td></tr>"));
        page.Raw("</table>");
    }

    private static void AppendNearDuplicates(HtmlPage page, AuditResult result)
    {
        var clusters = result.NearDuplicateClusters;
        page.Heading(2, "Near-duplicates").Raw(string.Create(CultureInfo.InvariantCulture,
            $"<p>Perceptual hash (64-bit DCT), Hamming distance at most {result.HashThreshold}. {clusters.Count} clusters.</p>"));
        if (clusters.Count == 0) return;
        page.Raw("<ol>");
        foreach (var c in clusters.Take(ListedClusters))
            page.Raw(string.Create(CultureInfo.InvariantCulture, $"<li>{c.Count} photos: ")).Raw(E(string.Join(", ", c.Take(12))))
                .Raw(c.Count > 12 ? ", ..." : "").Raw("</li>");
        page.Raw("</ol>");
        if (clusters.Count > ListedClusters)
            page.Raw(string.Create(CultureInfo.InvariantCulture, $"<p>and {clusters.Count - ListedClusters} more clusters.</p>"));
    }

    private static void AppendLeakage(HtmlPage page, AuditResult result)
    {
        page.Heading(2, "Train/test leakage");
        if (result.TestImages == 0)
        {
            page.Paragraph("No test folder given (--test-image-dir).");
            return;
        }
        page.Raw(string.Create(CultureInfo.InvariantCulture,
            $"<p>{result.Leakage.Count} of {result.TestImages} test photos have a near-duplicate in training.</p>"));
        if (result.Leakage.Count == 0) return;
        page.Raw("<table><tr><th>test photo</th><th>training pair</th><th>distance</th></tr>");
        foreach (var l in result.Leakage.Take(ListedLeaks))
            page.Raw("<tr><td class=\"l\">").Raw(E(Path.GetFileName(l.TestImage))).Raw("</td><td class=\"l\">").Raw(E(l.TrainStem))
                .Raw(string.Create(CultureInfo.InvariantCulture, $"</td><td>{l.Distance}</td></tr>"));
        page.Raw("</table>");
    }

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
            imageBars.Add(new ScottPlot.Bar
            {
                Position = i * 3 + 1, Value = c.ImageShare * 100, FillColor = c.Rare ? ScottPlot.Colors.FireBrick
                : ScottPlot.Colors.Orange
            });
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
