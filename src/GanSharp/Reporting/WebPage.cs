using System.Globalization;
using GanSharp.Data;

namespace GanSharp.Reporting;

/// <summary>
/// The reference's training page (<c>web/index.html</c> with <c>images/epochNNN_iterNNN_&lt;name&gt;.png</c>), newest
/// first; rebuilt from the image folder each time so a resumed run keeps its history.
/// </summary>
internal sealed class WebPage(string dir, string title)
{
    private const string Style = "body{font-family:sans-serif}img{image-rendering:pixelated;width:256px;margin:2px}"
        + "td{vertical-align:top;text-align:center}";

    /// <summary>Writes this display step's pictures into <c>images/</c> and rebuilds the page.</summary>
    public void Add(int epoch, long epochImages, IReadOnlyList<(string Name, RgbImage Image)> visuals)
    {
        string images = Path.Combine(dir, "images");
        Directory.CreateDirectory(images);
        foreach (var (name, img) in visuals)
        {
            string file = string.Create(CultureInfo.InvariantCulture, $"epoch{epoch:D3}_iter{epochImages}_{name}.png");
            ImageIO.WritePng(img, Path.Combine(images, file));
        }
        Rebuild();
    }

    /// <summary>Rebuilds <c>index.html</c> from the pictures in <c>images/</c>, newest display step first.</summary>
    public void Rebuild()
    {
        string images = Path.Combine(dir, "images");
        var groups = Directory.Exists(images)
            ? Directory.GetFiles(images, "epoch*_iter*_*.png")
                .Select(Path.GetFileName)
                .OfType<string>()
                .Select(f => (File: f, Key: f[..(f.IndexOf('_', f.IndexOf("_iter", StringComparison.Ordinal) + 1))]))
                .GroupBy(x => x.Key)
                .OrderByDescending(g => Order(g.Key))
                .ToList()
            : [];
        var page = new HtmlPage(title, Style).Heading(1, title);
        foreach (var g in groups)
        {
            page.Heading(3, g.Key.Replace('_', ' ')).Raw("<table><tr>");
            foreach (var (file, key) in g)
            {
                string label = file[(key.Length + 1)..^4];
                page.Raw("<td><img src=\"images/").Raw(HtmlPage.Escape(Uri.EscapeDataString(file))).Raw("\"><br>")
                    .Raw(HtmlPage.Escape(label)).Raw("</td>");
            }
            page.Raw("</tr></table>");
        }
        page.Write(Path.Combine(dir, "index.html"));
    }

    private static (int, long) Order(string key)
    {
        // key: epochNNN_iterMMM
        int u = key.IndexOf("_iter", StringComparison.Ordinal);
        int.TryParse(key.AsSpan(5, u - 5), NumberStyles.Integer, CultureInfo.InvariantCulture, out int e);
        long.TryParse(key.AsSpan(u + 5), NumberStyles.Integer, CultureInfo.InvariantCulture, out long i);
        return (e, i);
    }
}
