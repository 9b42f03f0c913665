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
    // [m, n, k] of the products of a crop-128 ngf-32 SPADE step: a 3x3 block conv, a modulation conv, the first
    // layer's gradient, a weight gradient with a long depth.
    private static readonly (long M, long N, long K)[] Shapes =
        [(256, 4096, 2304), (128, 16384, 1152), (64, 16384, 576), (1152, 4096, 128), (256, 2304, 4096)];

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
        Console.WriteLine("m x n x k | oneDNN | GanSharp AVX-512 | GanSharp AVX2 | libtorch mm | ratios to the first");
        foreach (var (m, n, k) in Shapes)
        {
            var a = new float[m * k];
            var b = new float[k * n];
            var c = new float[m * n];
            for (int i = 0; i < a.Length; i++) a[i] = (i % 7) * 0.1f;
            for (int i = 0; i < b.Length; i++) b[i] = (i % 5) * 0.1f;
            var rates = new List<(string Name, double Gflops)>();
            fixed (float* pa = a, pb = b, pc = c)
            {
                float* xa = pa, xb = pb, xc = pc;
                void Product() => OneDnnGemm.Gemm(false, false, m, n, k, 1f, xa, k, xb, n, 0f, xc, n);
                var (hide, isa) = (OneDnnGemm.HideOneDnn, ManagedGemm.Active);
                if (OneDnnGemm.UsesOneDnn) rates.Add(("oneDNN", Rate(Product, m, n, k, seconds)));
                OneDnnGemm.HideOneDnn = true;
                var kernels = new[] { ManagedGemm.Isa.Avx512, ManagedGemm.Isa.Avx2 }.Where(x => x <= ManagedGemm.Best);
                foreach (var kernel in kernels)
                {
                    ManagedGemm.Active = kernel;
                    rates.Add(("GanSharp " + kernel, Rate(Product, m, n, k, seconds)));
                }
                (OneDnnGemm.HideOneDnn, ManagedGemm.Active) = (hide, isa);
            }
            using (var ta = randn(m, k))
            using (var tb = randn(k, n))
                rates.Add(("libtorch mm", Rate(() => mm(ta, tb).Dispose(), m, n, k, seconds)));
            double first = rates[0].Gflops;
            Console.WriteLine($"{m}x{n}x{k} | " + string.Join(" | ", rates.Select(r => $"{r.Name} {r.Gflops:F0} GFLOP/s"))
                + " | " + string.Join(" ", rates.Select(r => $"{r.Gflops / first:F2}")));
        }
        return 0;
    }

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
