namespace GanSharp.Cli.Studio;

/// <summary>The studio's single page: plain HTML, CSS and JavaScript embedded in the tool, no build step.</summary>
internal static class StudioPage
{
    private static readonly Lazy<string> Template = new(() =>
    {
        using var stream = typeof(StudioPage).Assembly.GetManifestResourceStream("GanSharp.Cli.Studio.studio.html")
            ?? throw new InvalidOperationException("the studio page is missing from the tool");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>The page for a run whose name is already HTML-escaped.</summary>
    public static string Html(string escapedName) => Template.Value.Replace("{{NAME}}", escapedName, StringComparison.Ordinal);
}
