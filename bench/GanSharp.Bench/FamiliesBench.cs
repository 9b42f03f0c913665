using System.Diagnostics;
using System.Globalization;
using GanSharp.Models;
using GanSharp.Runs;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Bench;

/// <summary>
/// Trains every family on ring8, grid25 and shapes32 for a fixed number of iterations with a fixed seed and prints
/// a Markdown table: modes covered and % high-quality samples (2-D), random-feature distance to real shapes at init
/// and at the end (images), and seconds per 1k iterations.
/// </summary>
public static class FamiliesBench
{
    /// <summary>The steps and learning rates used per data set (the same settings the learning tests use).</summary>
    public static (FamilyRunOptions Family, TricksOptions Tricks, long Steps) Setting(GanFamily family, FamilyData data, long? steps)
    {
        bool image = data == FamilyData.Shapes32;
        var f = new FamilyRunOptions
        {
            Family = family,
            Data = data,
            BatchSize = image ? 32 : 256,
            BatchesPerEpoch = 1_000_000,
            Epochs = 1,
            Width = image ? 16 : 64,
            ProGanPhaseImages = 1600,
        };
        // A faster lr than the paper's so WGAN moves within a short benchmark (its critic keeps RMSProp); wgan-gp's
        // own 2-D defaults are already fast (Adam 2e-3 with an EMA of G).
        var t = family switch
        {
            GanFamily.Wgan => new TricksOptions { LrG = 5e-4, LrD = 5e-4 },
            _ => new TricksOptions(),
        };
        return (f, t, steps ?? (image ? 200 : 1000));
    }

    public static void Run(string[] args)
    {
        // On a shared 2-core machine one intra-op thread is ~10x faster than two spinning ones for these small nets.
        TorchSharp.torch.set_num_threads(1);
        long? steps = null;
        int seed = 1;
        var families = Enum.GetValues<GanFamily>().ToList();
        var datas = Enum.GetValues<FamilyData>().ToList();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--seed": seed = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--steps": steps = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--only":
                    families = args[i + 1].Split(',').Select(s => Enum.Parse<GanFamily>(s.Replace("-", ""), ignoreCase: true))
                    .ToList(); break;
                case "--data": datas = args[i + 1].Split(',').Select(s => Enum.Parse<FamilyData>(s, ignoreCase: true)).ToList(); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        Console.WriteLine("| family | data | steps | modes | high-quality % | feature distance init → end | s / 1k steps |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var data in datas)
        {
            foreach (var family in families)
            {
                if (family == GanFamily.ProGan && data != FamilyData.Shapes32) continue;
                var (f, t, n) = Setting(family, data, steps);
                string dir = Path.Combine(Path.GetTempPath(), "gansharp-bench-" + Guid.NewGuid().ToString("N"));
                try
                {
                    var run = new RunOptions
                    {
                        Name = "b", CheckpointsDir = dir, Seed = seed, PrintFreq = 1 << 30, DisplayFreq = 1 << 30,
                        SaveLatestFreq = 1 << 30, MaxIterations = n
                    };
                    double init = 0;
                    if (f.IsImage)
                    {
                        TorchSharp.torch.manual_seed(run.Seed);
                        using var r0 = FamilyRegistry.CreateRecipe(f, t);
                        init = FamilyRunner.Score(f, r0, 256, run.Seed).FeatureDistance;
                    }
                    var clock = Stopwatch.StartNew();
                    var result = FamilyRunner.Train(f, t, run, CancellationToken.None);
                    double secs = clock.Elapsed.TotalSeconds;
                    string dataName = data.ToString().ToLowerInvariant();
                    string name = FamilyName(family);
                    Console.WriteLine(f.IsImage
                        ? $"| {name} | {dataName} | {n} | – | – | {init:F2} → {result.FeatureDistance:F2} | {secs * 1000 / n:F1} |"
                        : $"| {name} | {dataName} | {n} | {result.Modes}/{(data == FamilyData.Ring8 ? 8 : 25)} | "
                            + $"{result.HighQuality * 100:F1} | – | {secs * 1000 / n:F1} |");
                }
                finally
                {
                    if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
                }
            }
        }
    }

    public static string FamilyName(GanFamily f) => f switch
    {
        GanFamily.WganGp => "wgan-gp",
        _ => f.ToString().ToLowerInvariant(),
    };
}
