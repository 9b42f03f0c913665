using System.Diagnostics;
using System.Globalization;
using GanSharp.Kernels;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Runtime;
using GanSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Bench;

/// <summary>
/// Seconds per SPADE training iteration (median of 20 after 3 warm-up) and peak RSS for the issue's configurations,
/// batch 1, no VGG, no instance maps, label_nc 13; plus test-time seconds per image. Each configuration runs in a
/// child process of its own (peak RSS is per process; glibc's malloc options can only be set at process start):
/// on the generator's GEMM convolutions, and as the baseline of the same command on libtorch's
/// (<c>GANSHARP_CONV=aten</c>); where libdnnl2 is installed also on GanSharp's own GEMM as a machine without it runs
/// (<c>GANSHARP_DNNL=off</c>: <c>own</c>, and <c>own-avx2</c> with its AVX2 kernel and transforms, as on an AVX2-only
/// processor); with <c>--untuned</c> also without the allocator tuning. <c>--gemm-only</c> skips the baselines.
/// <c>--reference FILE</c> takes the reference's figures from tools/spade-fixtures/bench_reference.py's output.
/// </summary>
public static class SpadeBench
{
    private sealed record Config(string Name, int Crop, int Ngf, int Ndf, bool Vae);

    private static readonly Config[] Configs =
    [
        new("a", 64, 16, 16, false),
        new("b", 128, 32, 32, false),
        new("c", 256, 64, 64, false),
        new("d", 256, 32, 64, true),
    ];

    // NVlabs/SPADE (PyTorch 1.13 CPU, 2 threads, glibc told to keep freed memory) on this machine kind, another day:
    // these VMs drift by 10-30 % from day to day, so --reference FILE (bench_reference.py's lines of the same hour) wins.
    private static readonly Dictionary<string, (double SecPerIter, double PeakMb)> StoredReference = new()
    {
        ["a"] = (0.61, 561), ["b"] = (1.51, 1230), ["c"] = (6.0, 3900), ["d"] = (3.0, 2300), ["b test"] = (0.33, 0),
    };

    // bench_reference.py's lines ("b train 1.234 s 1200 MB params ..."), the best time and peak of each configuration and
    // mode over the runs given (glibc and tcmalloc), over the stored figures.
    private static Dictionary<string, (double SecPerIter, double PeakMb)> ReadReference(string? path)
    {
        var table = new Dictionary<string, (double, double)>(StoredReference);
        if (path is null) return table;
        var measured = new Dictionary<string, (double Sec, double Mb)>();
        foreach (var line in File.ReadLines(path))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 6 || f[3] != "s" || f[5] != "MB") continue;
            if (!double.TryParse(f[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double sec)
                || !double.TryParse(f[4], NumberStyles.Float, CultureInfo.InvariantCulture, out double mb)) continue;
            string key = f[1] == "train" ? f[0] : $"{f[0]} {f[1]}";
            measured[key] = measured.TryGetValue(key, out var had) ? (Math.Min(had.Sec, sec), Math.Min(had.Mb, mb)) : (sec, mb);
        }
        foreach (var (key, value) in measured) table[key] = value;
        Console.WriteLine($"reference: {path} ({string.Join(", ", measured.Select(kv => string.Create(CultureInfo.InvariantCulture,
            $"{kv.Key} {kv.Value.Sec:F3} s {kv.Value.Mb:F0} MB")))})");
        return table;
    }

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "--child") return Child(args[1], args.Contains("--infer"), args.Contains("--tuned"));
        int at = Array.IndexOf(args, "--reference");
        string? referenceFile = at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        if (at >= 0 && !File.Exists(referenceFile))
        {
            Console.Error.WriteLine($"--reference needs the file bench_reference.py's lines were saved to; {(referenceFile is null
                ? "none was given" : $"{referenceFile} does not exist")}.");
            return 2;
        }
        var reference = ReadReference(referenceFile);
        var only = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (at < 0 || i != at + 1)).ToHashSet();
        bool baselines = !args.Contains("--gemm-only") && !args.Contains("--tuned-only");
        var variants = new List<(string Name, bool Tuned, Dictionary<string, string> Env)> { ("gemm", true, []) };
        if (baselines)
        {
            variants.Add(("aten", true, new() { [OneDnnGemm.ConvolutionVariable] = "aten" }));
            if (OneDnnGemm.UsesOneDnn) variants.Add(("own", true, new() { [OneDnnGemm.DnnlVariable] = "off" }));
            if (OneDnnGemm.UsesOneDnn && ManagedGemm.Best == ManagedGemm.Isa.Avx512)
                variants.Add(("own-avx2", true, new() { [OneDnnGemm.DnnlVariable] = "off", [ManagedGemm.IsaVariable] = "avx2" }));
        }
        if (args.Contains("--untuned")) variants.Add(("untuned", false, []));
        Console.WriteLine($"CPU: {Cpu.Describe()}; default path: {GemmConvolution.Status}");
        Console.WriteLine("config  variant  s/iter   peak MB  ref s/iter  ref MB  time ratio  mem ratio  vs aten  params G/D/E");
        foreach (var c in Configs.Where(c => only.Count == 0 || only.Contains(c.Name)))
        {
            double? gemmSec = null;
            foreach (var v in variants)
            {
                var line = RunChild(c.Name, v.Tuned, infer: false, v.Env);
                gemmSec ??= line.Sec;
                var (refS, refMb) = reference[c.Name];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{c.Name,-7} {v.Name,-8} {line.Sec,7:F3} {line.PeakMb,9:F0} {refS,10:F2} {refMb,7:F0} {line.Sec / refS,10:F2} "
                        + $"{line.PeakMb / refMb,9:F2} {line.Sec / gemmSec.Value,8:F2}  {line.Extra}"));
            }
        }
        // The issue's inference goals: (b) against the reference, (c) (crop 256, ngf 64) under 1 s per image.
        foreach (var name in new[] { "b", "c" }.Where(n => only.Count == 0 || only.Contains(n)))
        {
            var refInf = reference.GetValueOrDefault(name + " test");
            foreach (var v in variants.Where(v => v.Tuned))
            {
                var inf = RunChild(name, tuned: true, infer: true, v.Env);
                string against = refInf.SecPerIter > 0
                    ? $"reference {refInf.SecPerIter:F3}, ratio {inf.Sec / refInf.SecPerIter:F2}"
                    : "no reference figure";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"inference ({name}), {v.Name}: {inf.Sec:F3} s/image, peak {inf.PeakMb:F0} MB ({against})"));
            }
        }
        return 0;
    }

    private static (double Sec, double PeakMb, string Extra) RunChild(string config, bool tuned, bool infer, Dictionary<string, string> env)
    {
        var args = new List<string> { "spade", "--child", config };
        if (tuned) args.Add("--tuned");
        if (infer) args.Add("--infer");
        var psi = GcQuiet.SelfStartInfo(typeof(SpadeBench).Assembly.Location, args);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        psi.RedirectStandardOutput = true;
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith("RESULT", StringComparison.Ordinal)).Split(' ');
        return (double.Parse(last[1], CultureInfo.InvariantCulture), double.Parse(last[2], CultureInfo.InvariantCulture),
            string.Join(' ', last.Skip(3)));
    }

    private static int Child(string name, bool infer, bool tuned)
    {
        // Program.Main tunes the allocator for every benchmark; the untuned child undoes nothing, so it must not be tuned
        // in the first place: Main checks for "--child ... " without --tuned (see Program).
        var c = Configs.First(x => x.Name == name);
        torch.manual_seed(0);
        var options = new SpadeModelOptions { LabelNc = 13, NoInstance = true, CropSize = c.Crop, Ngf = c.Ngf, Ndf = c.Ndf, UseVae = c.Vae };
        using var model = new SpadeModel(options, new SpadeLossOptions { NoVggLoss = true }, buildDiscriminator: !infer);
        long pG = model.NetG.parameters().Sum(p => p.numel());
        long pD = model.NetD?.parameters().Sum(p => p.numel()) ?? 0;
        long pE = model.NetE?.parameters().Sum(p => p.numel()) ?? 0;
        using var label = randint(0, 13, [1, 1, c.Crop, c.Crop]);
        using var sem = zeros(1, options.SemanticNc, c.Crop, c.Crop).scatter_(1, label, ones(1, 1, c.Crop, c.Crop));
        using var image = rand(1, 3, c.Crop, c.Crop) * 2 - 1;
        var times = new List<double>();
        if (infer)
        {
            model.FreezeForInference();
            for (int i = 0; i < 23; i++)
            {
                var sw = Stopwatch.StartNew();
                using (var scope = NewDisposeScope()) model.Generate(sem, image: c.Vae ? image : null);
                if (i >= 3) times.Add(sw.Elapsed.TotalSeconds);
            }
        }
        else
        {
            model.Train(true);
            using var optG = new FusedAdam(model.GeneratorParameters(), 0.0001, 0.0, 0.9);
            using var optD = new FusedAdam(model.DiscriminatorParameters(), 0.0004, 0.0, 0.9);
            for (int i = 0; i < 23; i++)
            {
                var sw = Stopwatch.StartNew();
                model.ReferenceIteration(optG, optD, sem, image);
                if (i >= 3) times.Add(sw.Elapsed.TotalSeconds);
            }
        }
        times.Sort();
        double median = (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        double peakMb = GanSharp.Planning.Planner.PeakRssMb();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT {median:F4} {peakMb:F1} {pG:N0}/{pD:N0}/{pE:N0}{(tuned ? "" : " untuned")} conv: {GemmConvolution.Status}; "
            + $"malloc: {NativeAllocator.Current()}"));
        return 0;
    }
}
