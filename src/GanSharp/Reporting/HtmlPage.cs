using System.Net;
using System.Text;

namespace GanSharp.Reporting;

/// <summary>
/// The one HTML page shell of GanSharp's pages (doctor report, data audit, test page, training page): doctype, head
/// with title and style, then the body sections in order. Pages are self-contained files; text from the user's files
/// and runs goes through <see cref="Escape"/>, so a file name like <c>a&lt;b</c> stays text.
/// </summary>
/// <param name="title">The page title (escaped here).</param>
/// <param name="style">The page's CSS, written as given.</param>
internal sealed class HtmlPage(string title, string style)
{
    private readonly StringBuilder body = new();

    /// <summary>HTML-escapes text from runs and user files (null is empty).</summary>
    public static string Escape(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>A <c>data:</c> URI that embeds a PNG in the page, so the page needs no folder of assets.</summary>
    public static string PngDataUri(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    /// <summary>Appends a heading of the given level with escaped text.</summary>
    public HtmlPage Heading(int level, string text) => Raw($"<h{level}>").Raw(Escape(text)).Raw($"</h{level}>");

    /// <summary>Appends a paragraph of escaped text, with an optional CSS class.</summary>
    public HtmlPage Paragraph(string text, string? cssClass = null) =>
        Raw(cssClass is null ? "<p>" : $"<p class=\"{cssClass}\">").Raw(Escape(text)).Raw("</p>");

    /// <summary>Appends an embedded PNG figure (<c>img</c> with escaped alt text and an optional CSS class).</summary>
    public HtmlPage Image(string alt, byte[] png, string? cssClass = null) =>
        Raw(cssClass is null ? "<img" : $"<img class=\"{cssClass}\"").Raw(" alt=\"").Raw(Escape(alt)).Raw("\" src=\"")
            .Raw(PngDataUri(png)).Raw("\">");

    /// <summary>Appends a table row of header cell and escaped value (the key/value tables of the reports).</summary>
    public HtmlPage KeyRow(string key, string value, string keyTag = "th", string? keyClass = null) =>
        Raw("<tr><").Raw(keyTag).Raw(keyClass is null ? ">" : $" class=\"{keyClass}\">").Raw(Escape(key)).Raw("</")
            .Raw(keyTag).Raw("><td>").Raw(Escape(value)).Raw("</td></tr>");

    /// <summary>Appends markup as given: callers escape every piece of text they put in it.</summary>
    public HtmlPage Raw(string html)
    {
        body.Append(html);
        return this;
    }

    /// <summary>The whole page.</summary>
    public override string ToString() =>
        new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(Escape(title))
            .Append("</title><style>").Append(style).Append("</style></head><body>").Append(body).Append("</body></html>")
            .ToString();

    /// <summary>Writes the page atomically (a reader never sees half a page).</summary>
    public void Write(string path) => AtomicFile.WriteAllText(path, ToString());
}
