namespace GanSharp.Reporting;

/// <summary>
/// The reference's test page (<c>results/&lt;name&gt;/test_&lt;epoch&gt;/index.html</c>): one row per test image with
/// its input label, synthesized image and, when the data set has it, the real photo from <c>images/&lt;kind&gt;/</c>.
/// </summary>
internal static class TestPage
{
    private const string Style = "body{font-family:sans-serif}img{width:256px;image-rendering:pixelated}td{text-align:center}";

    /// <summary>The page's HTML.</summary>
    /// <param name="name">The run's name.</param>
    /// <param name="which">The epoch tested (<c>latest</c> or a number).</param>
    /// <param name="mode">How the generator ran (train or eval mode), shown under the heading.</param>
    /// <param name="rows">One per test image: its file stem and whether a real photo was written.</param>
    public static string Html(string name, string which, string mode, IReadOnlyList<(string Stem, bool HasReal)> rows)
    {
        var page = new HtmlPage($"{name} test_{which}", Style)
            .Heading(1, $"Experiment = {name}, Phase = test, Epoch = {which}")
            .Paragraph("Generator ran in " + mode + ".")
            .Raw("<table>");
        foreach (var (stem, hasReal) in rows)
        {
            string s = Uri.EscapeDataString(stem);
            page.Raw("<tr><td><img src=\"images/input_label/").Raw(s).Raw(".png\"><br>input_label</td>")
                .Raw("<td><img src=\"images/synthesized_image/").Raw(s).Raw(".png\"><br>synthesized_image</td>");
            if (hasReal) page.Raw("<td><img src=\"images/real_image/").Raw(s).Raw(".png\"><br>real_image</td>");
            page.Raw("<td>").Raw(HtmlPage.Escape(stem)).Raw("</td></tr>");
        }
        return page.Raw("</table>").ToString();
    }
}
