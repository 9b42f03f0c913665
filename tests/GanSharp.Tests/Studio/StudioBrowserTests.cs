using GanSharp.Data;
using GanSharp.Studio;
using PuppeteerSharp;
using PuppeteerSharp.Input;

namespace GanSharp.Tests.Studio;

/// <summary>Runs only where Debian's chromium is installed (CI installs it); says so when skipped.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Chromium)) Skip = $"{Chromium} is not installed (apt-get install chromium; .ci/run installs it).";
    }
}

/// <summary>The studio's page in a real browser: strokes with the mouse, the picture compared with <c>gansharp test</c>.</summary>
public sealed class StudioBrowserTests(StudioFixture studio) : IClassFixture<StudioFixture>
{
    [ChromiumFact]
    public async Task StrokesDrawnWithTheMouseGiveThePictureGansharpTestMakesOfTheSameLabelMap()
    {
        await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        await using var page = await browser.NewPageAsync();
        await page.SetViewportAsync(new ViewPortOptions { Width = 1150, Height = 760 });
        await page.GoToAsync(studio.Server.Address.ToString());
        // The first picture (an empty map) arrives on its own.
        await page.WaitForFunctionAsync("() => window.studio && studio.shown === studio.edits");

        var box = (await (await page.QuerySelectorAsync("#label")).BoundingBoxAsync())!;
        double cell = (double)box.Width / studio.Session.Width;
        await page.ClickAsync("#palette button[data-index='1']");
        await page.EvaluateExpressionAsync("document.getElementById('size').value = '6'");
        await Stroke(page, box, cell, (4, 4), (26, 6), (28, 26));
        await page.ClickAsync("#palette button[data-index='2']");
        await Stroke(page, box, cell, (6, 28), (16, 14));
        await page.ClickAsync("input[value='fill']");
        await page.ClickAsync("#palette button[data-index='3']");
        await page.Mouse.ClickAsync((decimal)((double)box.X + 30 * cell), (decimal)((double)box.Y + 2 * cell));
        await page.WaitForFunctionAsync("() => studio.edits === 3 && studio.shown === studio.edits",
            new WaitForFunctionOptions { Timeout = 60_000 });

        var values = await page.EvaluateExpressionAsync<int[]>("Array.from(studio.labels())");
        Assert.Equal(studio.Session.Width * studio.Session.Height, values.Length);
        int W = studio.Session.Width;
        // Class 1 under the first stroke, 2 under the second (drawn over it where they cross), 3 filled over the background.
        Assert.Equal((1, 2, 2, 3), (values[4 * W + 4], values[28 * W + 6], values[14 * W + 16], values[2 * W + 30]));
        Assert.Equal([1, 2, 3], values.Distinct().Order().ToArray());
        string base64 = await page.EvaluateExpressionAsync<string>(
            "new Promise(r => { const f = new FileReader(); f.onload = () => r(f.result.split(',')[1]); f.readAsDataURL(studio.picture()); })");
        byte[] picture = Convert.FromBase64String(base64);

        var map = new LabelMap(studio.Session.Width, studio.Session.Height, values);
        Assert.Equal(studio.TestPicture(StudioSession.EncodeLabelPng(map), "browser"), picture);
        await page.ScreenshotAsync("/tmp/gansharp-studio.png");
    }

    private static async Task Stroke(IPage page, BoundingBox box, double cell, params (int X, int Y)[] points)
    {
        decimal At(double origin, int v) => (decimal)(origin + (v + 0.5) * cell);
        await page.Mouse.MoveAsync(At((double)box.X, points[0].X), At((double)box.Y, points[0].Y));
        await page.Mouse.DownAsync();
        foreach (var p in points.Skip(1))
            await page.Mouse.MoveAsync(At((double)box.X, p.X), At((double)box.Y, p.Y), new MoveOptions { Steps = 8 });
        await page.Mouse.UpAsync();
    }
}
