using System.Diagnostics;
using GanSharp.Data;
using GanSharp.Evaluation;
using TorchSharp;

namespace GanSharp.Bench;

/// <summary>
/// Images per second of FID feature extraction (8-bit image → resize 299 → FID Inception pool3 + logits) on this
/// machine's threads. Weights come from the deterministic test formula: speed does not depend on their values.
/// Usage: <c>fid [--images N] [--batch B] [--size S] [--threads T]</c>.
/// </summary>
public static class FidBench
{
    public static int Run(string[] args)
    {
        int images = Arg(args, "--images", 64), batch = Arg(args, "--batch", 16), size = Arg(args, "--size", 256);
        int threads = Arg(args, "--threads", torch.get_num_threads());
        torch.set_num_threads(threads);
        var rng = new Random(1);
        var pool = Enumerable.Range(0, Math.Min(images, 8)).Select(_ =>
        {
            var px = new byte[size * size * 3];
            rng.NextBytes(px);
            return new RgbImage(size, size, px);
        }).ToList();

        using var net = new FidInceptionV3();
        DeterministicWeights.Fill(net);
        using var extractor = new InceptionFeatureExtractor(net, ownsNet: false);
        extractor.Extract(batch, i => pool[i % pool.Count], batch);   // warm-up: oneDNN primitive creation, allocator

        var sw = Stopwatch.StartNew();
        var outputs = extractor.Extract(images, i => pool[i % pool.Count], batch);
        sw.Stop();
        double ips = images / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"fid-features: {images} images {size}x{size}, batch {batch}, {threads} threads: {sw.Elapsed.TotalSeconds:F2} s, {ips:F2} "
            + $"images/s ({outputs.Pool3.Rows}x{outputs.Pool3.Cols} features)");
        return 0;
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
    }
}
