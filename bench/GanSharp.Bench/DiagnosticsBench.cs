using System.Diagnostics;
using System.Globalization;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Bench;

/// <summary>
/// What SPADE's first-aid diagnostics cost, against one reference training iteration, for the benchmark's
/// configuration a (crop 64, ngf/ndf 16, label_nc 13, batch 1, no VGG): a log step with sample diversity only
/// (8 maps, the default), and a validation step (16 held-out pairs plus 16 training pairs for D's accuracy).
/// Median of 7 after 2 warm-up. Usage: <c>diagnostics [--crop N] [--vae]</c>.
/// </summary>
public static class DiagnosticsBench
{
    public static int Run(string[] args)
    {
        int crop = args.Contains("--crop") ? int.Parse(args[Array.IndexOf(args, "--crop") + 1], CultureInfo.InvariantCulture) : 64;
        bool vae = args.Contains("--vae");
        manual_seed(0);
        var options = new SpadeModelOptions { LabelNc = 13, NoInstance = true, CropSize = crop, Ngf = 16, Ndf = 16, UseVae = vae, ZDim = 64 };
        using var model = new SpadeModel(options, new SpadeLossOptions { NoVggLoss = true });
        model.Train(true);
        using var optG = torch.optim.Adam(model.GeneratorParameters(), 0.0001, 0.0, 0.9);
        using var optD = torch.optim.Adam(model.DiscriminatorParameters(), 0.0004, 0.0, 0.9);
        DiagnosticPairs Pairs(int n)
        {
            using var label = randint(0, 13, [n, crop, crop]);
            using var oneHot = nn.functional.one_hot(label, 13);
            return new DiagnosticPairs(oneHot.permute(0, 3, 1, 2).to_type(ScalarType.Byte).contiguous(), rand(n, 3, crop, crop) * 2 - 1);
        }
        using var sem = Pairs(1);
        using var semF = sem.Semantics.to_type(ScalarType.Float32);

        double Median(Action a)
        {
            var t = new List<double>();
            for (int i = 0; i < 9; i++)
            {
                var sw = Stopwatch.StartNew();
                a();
                if (i >= 2) t.Add(sw.Elapsed.TotalMilliseconds);
            }
            t.Sort();
            return t[t.Count / 2];
        }

        double iteration = Median(() => model.ReferenceIteration(optG, optD, semF, sem.Images));
        using var stats = new StatsCollector();
        using var diversityOnly = new SpadeDiagnostics(Pairs(16), null, diversitySamples: 8, valEvery: 0, chunk: 1, options);
        var ctx = new StepContext(stats) { IsLogStep = true };
        double logStep = Median(() =>
        {
            diversityOnly.Report(model, ctx, AdversarialLoss.Hinge);
            stats.Flush(1, 1, 1, 0);
        });
        // valEvery 1: every call validates.
        using var withVal = new SpadeDiagnostics(Pairs(16), Pairs(16), diversitySamples: 8, valEvery: 1, chunk: 1, options);
        long it = 0;
        double valStep = Median(() =>
        {
            ctx.Iteration = it++;
            withVal.Report(model, ctx, AdversarialLoss.Hinge);
            stats.Flush(1, 1, it, 0);
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"crop {crop}{(vae ? " vae" : "")}: training iteration {iteration:F0} ms; log step with diversity (8 maps{(vae ? " + 8 z" : "")}) "
                + $"{logStep:F0} ms ({logStep / iteration:F2} iterations); "
            + $"validation step (16 held-out + 16 training pairs, plus diversity) {valStep:F0} ms ({valStep / iteration:F2} iterations)"));
        return 0;
    }
}
