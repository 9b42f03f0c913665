using System.Globalization;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using GanSharp.Data;
using GanSharp.Studio;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GanSharp.Cli.Studio;

/// <summary>
/// The studio's web server: one page and a small API over a <see cref="StudioSession"/>. The page sends label values or
/// PNG bytes, never a path; every answer that is not a picture is JSON, errors as one sentence.
/// </summary>
public sealed class StudioServer : IAsyncDisposable
{
    /// <summary>Largest request body: a 2048x2048 label map of bytes, or a style photo of that order.</summary>
    public const long MaxBody = 4L << 20;

    private readonly WebApplication _app;
    private readonly StudioSession _session;
    private byte[]? _style;

    private StudioServer(WebApplication app, StudioSession session, Uri address)
    {
        _app = app;
        _session = session;
        Address = address;
    }

    /// <summary>Where the page is, e.g. http://127.0.0.1:7860/.</summary>
    public Uri Address { get; }

    /// <summary>Starts serving <paramref name="session"/> on <paramref name="host"/>:<paramref name="port"/> (0: a free port).</summary>
    public static async Task<StudioServer> StartAsync(StudioSession session, string host, int port)
    {
        if (!IPAddress.TryParse(host, out var ip))
            throw new GanSharpException(ErrorKind.Usage,
                $"--host {host} is not an IP address: pass 127.0.0.1 (this machine) or 0.0.0.0 (every network).");
        if (port is < 0 or > 65535)
            throw new GanSharpException(ErrorKind.Usage, $"--port {port} is not a TCP port: pass a number from 1 to 65535.");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = MaxBody;
            k.Listen(ip, port);
        });
        var app = builder.Build();
        StudioServer? server = null;
        app.MapGet("/", ctx => server!.Page(ctx));
        app.MapGet("/api/info", ctx => server!.Info(ctx));
        app.MapPost("/api/synthesize", ctx => server!.Synthesize(ctx));
        app.MapPost("/api/label.png", ctx => server!.LabelPng(ctx));
        app.MapPost("/api/decode-label", ctx => server!.DecodeLabel(ctx));
        app.MapPut("/api/style", ctx => server!.PutStyle(ctx));
        app.MapDelete("/api/style", ctx => server!.DeleteStyle(ctx));
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new GanSharpException(ErrorKind.BadInput, $"cannot listen on {host}:{port} ({e.Message}): pass another --port.", e);
        }
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new StudioServer(app, session, new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/"));
        return server;
    }

    public Task WaitForShutdownAsync(CancellationToken token) => _app.WaitForShutdownAsync(token);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private Task Page(HttpContext ctx)
    {
        ctx.Response.ContentType = "text/html; charset=utf-8";
        ctx.Response.Headers["Content-Security-Policy"] =
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' blob: data:";
        return ctx.Response.WriteAsync(StudioPage.Html(_session.NameHtml));
    }

    // Class names come from a user's class table: the strict encoder writes <, >, &, ' and " as \u escapes, so a name
    // stays text even if a page ever put it into markup (ASP.NET's default encoder is the relaxed one).
    private static readonly JsonSerializerOptions InfoJson = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.Default };

    private Task Info(HttpContext ctx)
    {
        ctx.Response.Headers.XContentTypeOptions = "nosniff";
        return ctx.Response.WriteAsJsonAsync(InfoBody(), InfoJson);
    }

    private object InfoBody() => new
    {
        name = _session.Name,
        width = _session.Width,
        height = _session.Height,
        labelNc = _session.LabelNc,
        useVae = _session.UseVae,
        classes = _session.Classes.Select(c => new { index = c.Index, name = c.Name, color = c.Color }),
    };

    private Task Synthesize(HttpContext ctx) => Guard(ctx, async () =>
    {
        CheckFields(ctx, "seed");
        int? seed = null;
        if (ctx.Request.Query.TryGetValue("seed", out var s))
        {
            if (!int.TryParse(s.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int z))
                throw Bad(400, "seed must be a whole number (the z slider's value).");
            seed = z;
        }
        var label = await ReadLabel(ctx);
        var style = _style;
        byte[] png = await Task.Run(() => _session.Synthesize(label, style, seed));
        ctx.Response.ContentType = "image/png";
        await ctx.Response.Body.WriteAsync(png);
    });

    private Task LabelPng(HttpContext ctx) => Guard(ctx, async () =>
    {
        CheckFields(ctx);
        var label = await ReadLabel(ctx);
        ctx.Response.ContentType = "image/png";
        await ctx.Response.Body.WriteAsync(StudioSession.EncodeLabelPng(label));
    });

    private Task DecodeLabel(HttpContext ctx) => Guard(ctx, async () =>
    {
        CheckFields(ctx);
        RequireType(ctx, "image/png");
        var map = _session.DecodeLabelPng(await ReadBody(ctx));
        if (map.Width != _session.Width || map.Height != _session.Height)
            throw Bad(400, $"the label map is {map.Width}x{map.Height} but {_session.Name} paints {_session.Width}x{_session.Height}: "
                + "scale it (nearest) to that size.");
        ctx.Response.ContentType = "application/octet-stream";
        await ctx.Response.Body.WriteAsync(map.Values.Select(v => (byte)v).ToArray());
    });

    private Task PutStyle(HttpContext ctx) => Guard(ctx, async () =>
    {
        CheckFields(ctx);
        RequireType(ctx, "image/png", "image/jpeg", "image/webp");
        if (!_session.UseVae)
            throw Bad(400, $"{_session.Name} was trained without the VAE encoder, so it takes no style image.");
        var bytes = await ReadBody(ctx);
        _session.CheckStyle(bytes);
        _style = bytes;
        ctx.Response.StatusCode = 204;
    });

    private Task DeleteStyle(HttpContext ctx) => Guard(ctx, () =>
    {
        CheckFields(ctx);
        _style = null;
        ctx.Response.StatusCode = 204;
        return Task.CompletedTask;
    });

    // Raw label values (one byte a pixel at the canvas size) or a label PNG.
    private async Task<LabelMap> ReadLabel(HttpContext ctx)
    {
        string type = RequireType(ctx, "application/octet-stream", "image/png");
        var bytes = await ReadBody(ctx);
        if (type == "image/png") return _session.DecodeLabelPng(bytes);
        int n = _session.Width * _session.Height;
        if (bytes.Length != n)
            throw Bad(400, $"the label map has {bytes.Length} values but {_session.Name} paints {_session.Width}x{_session.Height} = {n}: "
                + "send one byte a pixel.");
        return new LabelMap(_session.Width, _session.Height, Array.ConvertAll(bytes, b => (int)b));
    }

    private static async Task<byte[]> ReadBody(HttpContext ctx)
    {
        if (ctx.Request.ContentLength > MaxBody) throw TooLarge();
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await ctx.Request.Body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > MaxBody) throw TooLarge();
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static string RequireType(HttpContext ctx, params string[] types)
    {
        string type = (ctx.Request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        if (!types.Contains(type))
            throw Bad(415, $"the body must be {string.Join(" or ", types)}, not {(type.Length == 0 ? "untyped" : type)}.");
        return type;
    }

    // The page sends no file names or paths; an unexpected field is refused rather than ignored.
    private static void CheckFields(HttpContext ctx, params string[] allowed)
    {
        foreach (var key in ctx.Request.Query.Keys)
            if (!allowed.Contains(key))
                throw Bad(400, $"the studio takes no field '{key}': it reads label values and images from the request body, never files.");
    }

    private static async Task Guard(HttpContext ctx, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (StudioRefusal e)
        {
            await Refuse(ctx, e.Status, e.Message);
        }
        catch (GanSharpException e)
        {
            await Refuse(ctx, e.Kind == ErrorKind.Usage || e.Kind == ErrorKind.BadInput || e.Kind == ErrorKind.Data ? 400 : 500, e.Message);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Refuse(ctx, 413, TooLarge().Message);
        }
    }

    private static Task Refuse(HttpContext ctx, int status, string message)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(JsonSerializer.Serialize(new { error = message }));
    }

    private static StudioRefusal TooLarge() =>
        new(413, $"the request is over the studio's {MaxBody >> 20} MiB limit: send a smaller label map or style image.");

    private static StudioRefusal Bad(int status, string message) => new(status, message);

    private sealed class StudioRefusal(int status, string message) : Exception(message)
    {
        public int Status { get; } = status;
    }
}
