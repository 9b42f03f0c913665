using System.Diagnostics;
using System.Globalization;
using GanSharp.Models;
using GanSharp.Runs;
using GanSharp.Training;

namespace GanSharp.Bench;

/// <summary>
/// BEGAN's instrumentation (issue 22): trains BEGAN on one data set with the families bench's settings and prints,
/// every <c>--every</c> iterations, the means over that interval of k_t, L(x) (D_real), L(G(z)) (D_fake) and M, then
/// the end score (modes and high-quality share on 2-D data, feature distance at init and end on shapes32).
/// <c>began-trace --data ring8 --seed 1 --steps 1000 --every 50 [--batch 128] [--family dcgan]</c>.
/// </summary>
public static class BeganTrace
{
    private sealed class Sink : IStatsSink
    {
        public List<StatsRecord> Records { get; } = [];

        public void OnStats(StatsRecord record) => Records.Add(record);
    }

    // Where G's samples are: mean, radius, and per nearest centre the count and the mean distance to it.
    private static void Layout(Models.Common.AdversarialRecipe sampler, FamilyData data)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var kind = data == FamilyData.Ring8 ? Data.Toy2DKind.Ring8 : Data.Toy2DKind.Grid25;
        var s = sampler.Sample(2000);
        var centers = Data.Toy2DSource.Centers(kind);
        var d = TorchSharp.torch.cdist(s, centers);
        var (minD, arg) = d.min(1);
        var mean = s.mean([0]);
        Console.Write($"G mean ({mean[0].item<float>():F2}, {mean[1].item<float>():F2}), radius {s.norm(1).mean().item<float>():F2}"
            + $" ± {s.norm(1).std().item<float>():F2}; per centre n/meandist:");
        for (int c = 0; c < centers.shape[0]; c++)
        {
            var mask = arg.eq(c);
            long cnt = mask.sum().item<long>();
            if (cnt > 0) Console.Write($" {c}:{cnt}/{minD[mask].mean().item<float>():F2}");
        }
        Console.WriteLine();
    }

    public static int Run(string[] args)
    {
        TorchSharp.torch.set_num_threads(1);
        var data = FamilyData.Ring8;
        var family = GanFamily.Began;
        int seed = 1, every = 50;
        long? steps = null;
        int? batch = null;
        bool quiet = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data": data = Enum.Parse<FamilyData>(args[++i], ignoreCase: true); break;
                case "--family": family = Enum.Parse<GanFamily>(args[++i].Replace("-", ""), ignoreCase: true); break;
                case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--steps": steps = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--every": every = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--quiet": quiet = true; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        var (f, t, n) = FamiliesBench.Setting(family, data, steps);
        if (batch is { } b) f = f with { BatchSize = b };
        string dir = Path.Combine(Path.GetTempPath(), "gansharp-trace-" + Guid.NewGuid().ToString("N"));
        try
        {
            var run = new RunOptions
            {
                Name = "t", CheckpointsDir = dir, Seed = seed, PrintFreq = f.BatchSize * every, DisplayFreq = 1 << 30,
                SaveLatestFreq = 1 << 30, MaxIterations = n,
            };
            double init = 0;
            if (f.IsImage)
            {
                TorchSharp.torch.manual_seed(run.Seed);
                using var r0 = FamilyRegistry.CreateRecipe(f, t);
                init = FamilyRunner.Score(f, r0, 256, run.Seed).FeatureDistance;
            }
            var sink = new Sink();
            var clock = Stopwatch.StartNew();
            TorchSharp.torch.manual_seed(run.Seed);
            using var recipe = FamilyRegistry.CreateRecipe(f, t);
            using var stats = new StatsCollector();
            stats.Subscribe(sink);
            using (var trainer = new Trainer<Data.IGanBatch>(recipe, FamilyRunner.CreateSource(f, run.Seed), run, 1, "{}", stats))
                trainer.Run(new TrainPosition(1, 0, 0, 0, 0), CancellationToken.None);
            var result = FamilyRunner.Score(f, recipe, f.IsImage ? 256 : 2000, run.Seed);
            if (!f.IsImage) Layout(recipe, data);
            if (!quiet)
            {
                Console.WriteLine("iteration k L(x) L(G(z)) M");
                foreach (var r in sink.Records)
                {
                    string V(string key) => r.Values.TryGetValue(key, out var v) ? v.ToString("G4", CultureInfo.InvariantCulture) : "-";
                    Console.WriteLine($"{r.Iteration} {V("k")} {V("D_real")} {V("D_fake")} {V("M")}");
                }
            }
            var m = sink.Records.Where(r => r.Values.ContainsKey("M")).Select(r => r.Values["M"]).ToList();
            int q = Math.Max(1, m.Count / 4);
            string mq = m.Count > 0 ? $", M first quarter {m.Take(q).Average():F3}, last {m.Skip(m.Count - q).Average():F3}" : "";
            Console.WriteLine(f.IsImage
                ? $"{data} seed {seed} {n} steps: feature distance {init:F2} -> {result.FeatureDistance:F2}{mq}, {clock.Elapsed.TotalSeconds:F0} s"
                : $"{data} seed {seed} {n} steps: {result.Modes} modes, {result.HighQuality * 100:F1} % high quality{mq}, "
                    + $"{clock.Elapsed.TotalSeconds:F0} s");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        return 0;
    }
}
