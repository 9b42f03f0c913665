using GanSharp.Cli.Studio;
using GanSharp.Data;
using GanSharp.Interop;
using GanSharp.Studio;
using GanSharp.Tests.Reliability;
using CliRun = GanSharp.Tests.Reliability.Cli;

namespace GanSharp.Tests.Studio;

/// <summary>A tiny trained run (crop 32, ngf 2, with instance edges) served by the studio on a free loopback port.</summary>
public sealed class StudioFixture : IAsyncLifetime, IDisposable
{
    private readonly TinySpade _tiny = new();

    internal TinySpade Tiny => _tiny;
    internal StudioSession Session { get; private set; } = null!;
    internal StudioServer Server { get; private set; } = null!;
    internal HttpClient Http { get; private set; } = null!;
    internal string Checkpoints => _tiny.Checkpoints;

    public async Task InitializeAsync()
    {
        var (code, log) = CliRun.Run(_tiny.Train(_tiny.Checkpoints, "--name", "paint", "--max-iterations", "2", "--threads", "1"));
        if (code != 0) throw new InvalidOperationException(log);
        // At init gain 0.02 the tiny generator's pictures are gray within a level or two, which any label map would
        // match; scaled up, they span the range and follow the label map, so "the same picture" means something.
        string weights = Path.Combine(_tiny.Checkpoints, "paint", "latest_net_G.pth");
        using (var sd = PthReader.ReadStateDict(weights))
        {
            sd["conv_img.weight"].mul_(500);
            sd["conv_img.bias"].mul_(500);
            PthWriter.WriteStateDict(weights, sd);
        }
        Session = StudioSession.Open("paint", _tiny.Checkpoints, "latest", _ => { });
        Server = await StudioServer.StartAsync(Session, "127.0.0.1", 0);
        Http = new HttpClient { BaseAddress = Server.Address };
    }

    /// <summary>The picture <c>gansharp test</c> makes of <paramref name="labelPng"/>, the label map as instance map too (as the studio).</summary>
    internal byte[] TestPicture(byte[] labelPng, string tag)
    {
        string folder = _tiny.Dir.File("labels-" + tag);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "painted.png"), labelPng);
        string results = _tiny.Dir.File("results-" + tag);
        var (code, log) = CliRun.Run("test", "--name", "paint", "--checkpoints-dir", _tiny.Checkpoints, "--label-dir", folder,
            "--instance-dir", folder, "--results-dir", results);
        if (code != 0) throw new InvalidOperationException(log);
        return File.ReadAllBytes(Path.Combine(results, "paint", "test_latest", "images", "synthesized_image", "painted.png"));
    }

    /// <summary>A label map of the run's canvas: class 1 on the left, class 2 in a square, the rest 0.</summary>
    internal byte[] PaintedBytes()
    {
        var bytes = new byte[Session.Width * Session.Height];
        for (int y = 0; y < Session.Height; y++)
            for (int x = 0; x < Session.Width; x++)
                bytes[y * Session.Width + x] = (byte)(x < Session.Width / 3 ? 1 : x > 18 && y > 8 && y < 24 ? 2 : 0);
        return bytes;
    }

    internal static LabelMap ToMap(byte[] bytes, int width, int height) => new(width, height, Array.ConvertAll(bytes, b => (int)b));

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Session.Dispose();
    }

    public void Dispose() => _tiny.Dispose();
}
