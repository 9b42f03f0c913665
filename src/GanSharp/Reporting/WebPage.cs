using System.Globalization;
using System.Net;
using System.Text;
using GanSharp.Data;

namespace GanSharp.Reporting;

/// <summary>
/// The reference's training page (<c>web/index.html</c> with <c>images/epochNNN_iterNNN_&lt;name&gt;.png</c>), newest
/// first; rebuilt from the image folder each time so a resumed run keeps its history.
/// </summary>
public sealed class WebPage(string dir, string title)
{
    public void Add(int epoch, long epochImages, IReadOnlyList<(string Name, RgbImage Image)> visuals)
    {
        string images = Path.Combine(dir, "images");
        Directory.CreateDirectory(images);
        foreach (var (name, img) in visuals)
            ImageIO.WritePng(img, Path.Combine(images, string.Create(CultureInfo.InvariantCulture, $"epoch{epoch:D3}_iter{epochImages}_{name}.png")));
        Rebuild();
    }

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
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(WebUtility.HtmlEncode(title))
          .Append("</title><style>body{font-family:sans-serif}img{image-rendering:pixelated;width:256px;margin:2px}td{vertical-align:top;text-align:center}</style></head><body>");
        sb.Append("<h1>").Append(WebUtility.HtmlEncode(title)).Append("</h1>");
        foreach (var g in groups)
        {
            sb.Append("<h3>").Append(WebUtility.HtmlEncode(g.Key.Replace('_', ' '))).Append("</h3><table><tr>");
            foreach (var (file, key) in g)
            {
                string label = file[(key.Length + 1)..^4];
                sb.Append("<td><img src=\"images/").Append(WebUtility.HtmlEncode(Uri.EscapeDataString(file))).Append("\"><br>")
                  .Append(WebUtility.HtmlEncode(label)).Append("</td>");
            }
            sb.Append("</tr></table>");
        }
        sb.Append("</body></html>");
        AtomicFile.WriteAllText(Path.Combine(dir, "index.html"), sb.ToString());
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
