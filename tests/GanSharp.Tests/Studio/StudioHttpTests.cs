using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using GanSharp.Cli.Studio;
using GanSharp.Studio;

namespace GanSharp.Tests.Studio;

/// <summary>Every endpoint of the studio over HTTP, with good and bad input.</summary>
public sealed class StudioHttpTests(StudioFixture studio) : IClassFixture<StudioFixture>
{
    private HttpClient Http => studio.Http;

    [Fact]
    public async Task InfoDescribesTheRunsCanvasAndClasses()
    {
        using var doc = JsonDocument.Parse(await Http.GetStringAsync("api/info"));
        var root = doc.RootElement;
        Assert.Equal("paint", root.GetProperty("name").GetString());
        Assert.Equal(32, root.GetProperty("width").GetInt32());
        Assert.Equal(32, root.GetProperty("height").GetInt32());
        Assert.False(root.GetProperty("useVae").GetBoolean());
        var classes = root.GetProperty("classes").EnumerateArray().ToList();
        Assert.Equal(studio.Tiny.Info.LabelNc, classes.Count);
        // The colours of the test page's input_label pictures, each class its own.
        var colour = GanSharp.Reporting.Visuals.LabelColormap(256)[1];
        Assert.Equal($"#{colour.R:x2}{colour.G:x2}{colour.B:x2}", classes[1].GetProperty("color").GetString());
        Assert.Equal(classes.Count, classes.Select(c => c.GetProperty("color").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task ThePageIsHtmlWithTheRunsNameAndNoOutsideResources()
    {
        using var r = await Http.GetAsync("");
        Assert.Equal("text/html", r.Content.Headers.ContentType!.MediaType);
        string html = await r.Content.ReadAsStringAsync();
        Assert.Contains("<title>GanSharp studio: paint</title>", html);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.Contains("default-src 'self'", r.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task APaintedMapGivesTheSamePngAsGansharpTestOnItsDownloadedLabel()
    {
        var painted = studio.PaintedBytes();
        byte[] picture = await Post("api/synthesize", painted, "application/octet-stream", HttpStatusCode.OK);
        byte[] labelPng = await Post("api/label.png", painted, "application/octet-stream", HttpStatusCode.OK);
        Assert.Equal(painted.Select(b => (int)b), GanSharp.Data.PngCodec.Decode(labelPng, "label").Samples);
        Assert.Equal(studio.TestPicture(labelPng, "http"), picture);
        // The picture depends on the labels: another map gives other bytes.
        var other = (byte[])painted.Clone();
        Array.Fill(other, (byte)3, 0, 200);
        Assert.NotEqual(picture, await Post("api/synthesize", other, "application/octet-stream", HttpStatusCode.OK));
        // A label PNG of another size goes through the test's preprocessing too.
        string valLabel = Directory.GetFiles(studio.Tiny.Info.ValLabelDir).Order(StringComparer.Ordinal).First();
        byte[] valPng = File.ReadAllBytes(valLabel);
        Assert.Equal(studio.TestPicture(valPng, "val"), await Post("api/synthesize", valPng, "image/png", HttpStatusCode.OK));
    }

    [Fact]
    public async Task AnUploadedLabelComesBackAsValuesAtTheCanvasSize()
    {
        var painted = studio.PaintedBytes();
        byte[] png = StudioSession.EncodeLabelPng(StudioFixture.ToMap(painted, 32, 32));
        Assert.Equal(painted, await Post("api/decode-label", png, "image/png", HttpStatusCode.OK));
        string valLabel = Directory.GetFiles(studio.Tiny.Info.ValLabelDir).Order(StringComparer.Ordinal).First();
        string error = await Refused("api/decode-label", File.ReadAllBytes(valLabel), "image/png", HttpStatusCode.BadRequest);
        Assert.Contains("is 48x40 but paint paints 32x32", error);
    }

    [Fact]
    public async Task BadInputIsRefusedWithASentenceAndItsStatus()
    {
        var painted = studio.PaintedBytes();
        var outOfRange = (byte[])painted.Clone();
        outOfRange[5 * 32 + 7] = (byte)studio.Tiny.Info.LabelNc;
        Assert.Contains($"label value {studio.Tiny.Info.LabelNc} at (7, 5) is not a class of this run",
            await Refused("api/synthesize", outOfRange, "application/octet-stream", HttpStatusCode.BadRequest));
        Assert.Contains("over the studio's 4 MiB limit",
            await Refused("api/synthesize", new byte[StudioServer.MaxBody + 1], "application/octet-stream", HttpStatusCode.RequestEntityTooLarge));
        Assert.Contains("must be application/octet-stream or image/png, not text/plain",
            await Refused("api/synthesize", painted, "text/plain", HttpStatusCode.UnsupportedMediaType));
        Assert.Contains("takes no field 'path'",
            await Refused("api/synthesize?path=%2Fetc%2Fpasswd", painted, "application/octet-stream", HttpStatusCode.BadRequest));
        Assert.Contains("seed must be a whole number",
            await Refused("api/synthesize?seed=..%2F..%2Fetc", painted, "application/octet-stream", HttpStatusCode.BadRequest));
        Assert.Contains("has 10 values but paint paints 32x32",
            await Refused("api/synthesize", new byte[10], "application/octet-stream", HttpStatusCode.BadRequest));
        Assert.Contains("not a PNG", await Refused("api/decode-label", painted, "image/png", HttpStatusCode.BadRequest),
            StringComparison.OrdinalIgnoreCase);
        Assert.Contains("trained without the VAE encoder",
            await Refused("api/style", StudioSession.EncodeLabelPng(StudioFixture.ToMap(painted, 32, 32)), "image/png", HttpStatusCode.BadRequest,
                HttpMethod.Put));
    }

    [Fact]
    public async Task AHostThatIsNoAddressIsRefused()
    {
        var e = await Assert.ThrowsAsync<GanSharpException>(() => StudioServer.StartAsync(studio.Session, "example.org", 0));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains("is not an IP address", e.Message);
    }

    private async Task<byte[]> Post(string path, byte[] body, string type, HttpStatusCode expected)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        using var r = await Http.PostAsync(path, content);
        byte[] answer = await r.Content.ReadAsByteArrayAsync();
        Assert.True(r.StatusCode == expected, $"{path}: {r.StatusCode} {System.Text.Encoding.UTF8.GetString(answer)}");
        return answer;
    }

    private async Task<string> Refused(string path, byte[] body, string type, HttpStatusCode expected, HttpMethod? method = null)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        using var request = new HttpRequestMessage(method ?? HttpMethod.Post, path) { Content = content };
        // A refusal comes before the body is read: with 100-continue the client waits for it instead of writing into a closed socket.
        request.Headers.ExpectContinue = true;
        using var r = await Http.SendAsync(request);
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expected, $"{path}: {r.StatusCode} {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.GetProperty("error").GetString()!;
    }
}
