using System.Diagnostics;
using GanSharp.Kernels;
using static TorchSharp.torch;

namespace GanSharp.Bench;

/// <summary>
/// GFLOP/s of the GEMMs SPADE's convolutions can run on, in one process on the same products: oneDNN's (when
/// libdnnl.so.2 is installed), GanSharp's own with the AVX-512 and the AVX2 kernel, and libtorch's <c>mm</c> (MKL) as
/// the path a machine without either gets. Ratios are against oneDNN (or libtorch without it). Options:
/// <c>--threads N</c> (default 2), <c>--seconds S</c> per measurement (default 1).
/// </summary>
public static class GemmBench
{
    // [m, n, k] and layouts of the products of a crop-128 ngf-32 SPADE step: a 3x3 block conv, a modulation conv,
    // the first layer's gradient, an input gradient (A transposed), a weight gradient with a long depth (B transposed).
    private static readonly (long M, long N, long K, bool TransA, bool TransB)[] Shapes =
    [
        (256, 4096, 2304, false, false), (128, 16384, 1152, false, false), (64, 16384, 576, false, false),
        (1152, 4096, 128, true, false), (256, 2304, 4096, false, true),
    ];

    public static unsafe int Run(string[] args)
    {
        int threads = 2;
        double seconds = 1;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            else if (args[i] == "--seconds") seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
        }
        set_num_threads(threads);
        OneDnnGemm.SetThreads(threads);
        Console.WriteLine($"CPU: {Cpu.Describe()}; threads {threads}; GEMM status: {OneDnnGemm.Status}");
        Console.WriteLine($"best of {Rounds} interleaved rounds of {seconds / Rounds:F2} s per variant (the VM's speed drifts)");
        Console.WriteLine("m x n x k layout | oneDNN | GanSharp AVX-512 | GanSharp AVX2 | libtorch mm | ratios to the first");
        foreach (var (m, n, k, ta, tb) in Shapes)
        {
            var a = new float[m * k];
            var b = new float[k * n];
            var c = new float[m * n];
            for (int i = 0; i < a.Length; i++) a[i] = (i % 7) * 0.1f;
            for (int i = 0; i < b.Length; i++) b[i] = (i % 5) * 0.1f;
            var (hide, isa) = (OneDnnGemm.HideOneDnn, ManagedGemm.Active);
            var variants = new List<(string Name, Action Setup)>();
            if (OneDnnGemm.UsesOneDnn) variants.Add(("oneDNN", () => OneDnnGemm.HideOneDnn = hide));
            foreach (var kernel in new[] { ManagedGemm.Isa.Avx512, ManagedGemm.Isa.Avx2 }.Where(x => x <= ManagedGemm.Best))
                variants.Add(("GanSharp " + kernel, () => (OneDnnGemm.HideOneDnn, ManagedGemm.Active) = (true, kernel)));
            var best = new double[variants.Count + 1];
            using var tA = ta ? randn(k, m) : randn(m, k);
            using var tB = tb ? randn(n, k) : randn(k, n);
            fixed (float* pa = a, pb = b, pc = c)
            {
                float* xa = pa, xb = pb, xc = pc;
                void Product() => OneDnnGemm.Gemm(ta, tb, m, n, k, 1f, xa, ta ? m : k, xb, tb ? k : n, 0f, xc, n);
                void Torch() => mm(ta ? tA.t() : tA, tb ? tB.t() : tB).Dispose();
                for (int round = 0; round < Rounds; round++)
                {
                    for (int v = 0; v < variants.Count; v++)
                    {
                        variants[v].Setup();
                        best[v] = Math.Max(best[v], Rate(Product, m, n, k, seconds / Rounds));
                    }
                    best[^1] = Math.Max(best[^1], Rate(Torch, m, n, k, seconds / Rounds));
                }
            }
            (OneDnnGemm.HideOneDnn, ManagedGemm.Active) = (hide, isa);
            var names = variants.Select(v => v.Name).Append("libtorch mm").ToList();
            Console.WriteLine($"{m}x{n}x{k} {(ta ? 'T' : 'N')}{(tb ? 'T' : 'N')} | "
                + string.Join(" | ", names.Select((x, i) => $"{x} {best[i]:F0} GFLOP/s"))
                + " | " + string.Join(" ", best.Select(r => $"{r / best[0]:F2}")));
        }
        return 0;
    }

    private const int Rounds = 5;

    private static double Rate(Action product, long m, long n, long k, double seconds)
    {
        product();
        var sw = Stopwatch.StartNew();
        int runs = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            product();
            runs++;
        }
        return 2.0 * m * n * k * runs / sw.Elapsed.TotalSeconds / 1e9;
    }
}
