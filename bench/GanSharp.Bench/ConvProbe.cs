using System.Globalization;
using GanSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Bench;

/// <summary>
/// The probe of docs/FAMILIES.md's NaN question: a fresh Conv2d(8→8, 3×3, stride 1, pad 1) per run, forward and
/// backward on a random [16, 8, 16 or 32, 16 or 32] input, and a count of runs whose output or gradients hold a
/// non-finite value, a wrong square() (its exponent is a TorchSharp Scalar) or a libtorch error.
/// </summary>
/// <remarks>
/// Options: <c>--runs N</c> (default 4000); <c>--churn</c> allocates managed garbage on another thread meanwhile, as
/// the data loader's workers do, so collections (and the finalizer thread) run while libtorch works; <c>--quiet</c>
/// wraps every run in <see cref="GcQuiet.Iteration"/> as the trainer does; <c>--threads N</c> (default 1, as the
/// family tests); <c>--seed S</c>. Start with <c>GANSHARP_ONEDNN=1</c> to keep libtorch's oneDNN convolutions on.
/// </remarks>
public static class ConvProbe
{
    private static (int Runs, int Threads, int Seed, bool Churn, bool Quiet)? ParseArgs(string[] args)
    {
        int runs = 4000, threads = 1, seed = 1;
        bool churn = false, quiet = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--churn": churn = true; break;
                case "--quiet": quiet = true; break;
                default:
                    Console.Error.WriteLine($"conv-probe: unknown option {args[i]}; options: --runs N --threads N --seed S --churn --quiet");
                    return null;
            }
        }
        return (runs, threads, seed, churn, quiet);
    }

    public static int Run(string[] args)
    {
        if (ParseArgs(args) is not { } parsed) return 2;
        var (runs, threads, seed, churn, quiet) = parsed;
        set_num_threads(threads);
        manual_seed(seed);
        using var stop = new CancellationTokenSource();
        long collectionsBefore = GC.CollectionCount(0);
        // Short-lived arrays with finalizable neighbours: enough to start a gen0 collection every few milliseconds.
        var churner = churn ? Task.Run(() => Churn(stop.Token)) : Task.CompletedTask;
        int bad = 0, badOut = 0, badInput = 0, badWeight = 0, badBias = 0, wrong = 0, errors = 0;
        var sizes = new[] { 16, 32 };
        for (int run = 0; run < runs; run++)
        {
            int h = sizes[run % 2], w = sizes[run / 2 % 2];
            using var gcScope = quiet ? GcQuiet.Iteration() : default;
            using var scope = NewDisposeScope();
            try
            {
                using var conv = nn.Conv2d(8, 8, 3, stride: 1, padding: 1);
                var x = randn(16, 8, h, w).requires_grad_(true);
                var y = conv.forward(x);
                // square() hands libtorch a temporary Scalar (pow's exponent 2); y * y does not, so a difference is a
                // Scalar read after the GC freed it, not arithmetic.
                var sq = y.square();
                if (!sq.eq(y.mul(y)).all().item<bool>())
                {
                    wrong++;
                    Console.WriteLine($"run {run} [16, 8, {h}, {w}]: square() differs from y * y");
                }
                sq.mean().backward();
                bool o = !AllFinite(y), gi = !AllFinite(x.grad!), gw = !AllFinite(conv.weight!.grad!), gb = !AllFinite(conv.bias!.grad!);
                if (o || gi || gw || gb)
                {
                    bad++;
                    if (o) badOut++;
                    if (gi) badInput++;
                    if (gw) badWeight++;
                    if (gb) badBias++;
                    Console.WriteLine($"run {run} [16, 8, {h}, {w}]: "
                        + $"non-finite{(o ? " output" : "")}{(gi ? " input-grad" : "")}{(gw ? " weight-grad" : "")}{(gb ? " bias-grad" : "")}");
                }
            }
            catch (System.Runtime.InteropServices.ExternalException e)
            {
                errors++;
                Console.WriteLine($"run {run} [16, 8, {h}, {w}]: libtorch error: {e.Message.Split('\n')[0]}");
            }
        }
        stop.Cancel();
        churner.Wait();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"conv-probe: {bad} of {runs} runs non-finite (output {badOut}, input grad {badInput}, weight grad {badWeight}, bias grad {badBias}), " +
            $"{wrong} with a wrong square(), {errors} libtorch errors; " +
            $"oneDNN convolutions {(NativeSetup.OneDnnDisabled ? "off" : "on")}, threads {threads}, churn {churn}, GcQuiet {quiet}, " +
            $"gen0 collections {GC.CollectionCount(0) - collectionsBefore}, seed {seed}"));
        return bad + wrong + errors == 0 ? 0 : 7;
    }

    private static bool AllFinite(Tensor t) => isfinite(t).all().item<bool>();

    private static void Churn(CancellationToken token)
    {
        var keep = new object[64];
        long i = 0;
        while (!token.IsCancellationRequested)
        {
            keep[i++ % keep.Length] = new byte[16 << 10];
            // Disposable TorchSharp objects left to the finalizer, like the temporaries libtorch calls drop.
            if (i % 256 == 0) _ = 1.5.ToScalar();
        }
    }
}
