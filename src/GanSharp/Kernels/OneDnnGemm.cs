using System.Runtime.InteropServices;

namespace GanSharp.Kernels;

/// <summary>
/// oneDNN's single-precision GEMM (<c>dnnl_sgemm</c>) from the system's libdnnl.so.2 (Debian: <c>apt-get install
/// libdnnl2</c>). libtorch's own GEMM is MKL, which takes its AVX2 path on AMD processors: on the Zen 5 VMs we run on
/// it reaches ~110 GFLOP/s on 2 cores where oneDNN's AVX-512 kernels reach ~360 (measured). libtorch's bundled oneDNN
/// convolutions would be the natural route but give wrong values on these machines (see
/// <see cref="Runtime.NativeSetup.DisableOneDnnConvolutions"/>), so GanSharp calls the GEMM of the system's oneDNN itself and
/// builds its convolutions on it (<see cref="GemmConvolution"/>). When the library is missing, hidden
/// (<c>GANSHARP_DNNL=off</c>) or fails the check on first use, the same products run on GanSharp's own GEMM
/// (<see cref="ManagedGemm"/>, AVX2 or AVX-512); only a processor with neither takes libtorch's path, and says so once.
/// </summary>
internal static unsafe partial class OneDnnGemm
{
    private const string Library = "libdnnl.so.2";

    [LibraryImport(Library, EntryPoint = "dnnl_sgemm")]
    private static partial int DnnlSgemm(sbyte transA, sbyte transB, long m, long n, long k, float alpha, float* a, long lda,
        float* b, long ldb, float beta, float* c, long ldc);

    // Debian's oneDNN asks for libgomp.so.1, and libtorch's bundled OpenMP runtime (libgomp-98b21ff3.so.1) carries that
    // soname, so the dynamic loader hands oneDNN libtorch's runtime: one thread pool, whose count this sets.
    [LibraryImport("libgomp.so.1", EntryPoint = "omp_set_num_threads")]
    private static partial void OmpSetNumThreads(int n);

    private static readonly Lazy<string?> Problem = new(Probe);

    /// <summary>Environment variable that sends every convolution to libtorch when set to <c>aten</c> (for A/B measurements).</summary>
    public const string ConvolutionVariable = "GANSHARP_CONV";

    /// <summary>Environment variable that hides libdnnl.so.2 when set to <c>off</c>, as on a machine without the package.</summary>
    public const string DnnlVariable = "GANSHARP_DNNL";

    /// <summary>True when oneDNN's GEMM is loaded, passed its check and is not hidden.</summary>
    public static bool UsesOneDnn => Problem.Value is null && !HideOneDnn;

    /// <summary>Hides oneDNN as if the package were not installed (tests and benchmarks compare both GEMMs in one process).</summary>
    public static bool HideOneDnn { get; set; } =
        string.Equals(Environment.GetEnvironmentVariable(DnnlVariable), "off", StringComparison.OrdinalIgnoreCase);

    /// <summary>True when a GEMM (oneDNN's or GanSharp's) serves the convolutions; false sends the callers to libtorch.</summary>
    public static bool Available => !ForcedOff && (UsesOneDnn || ManagedGemm.Active != ManagedGemm.Isa.None);

    /// <summary>Which path convolutions take and why: for <c>doctor --env</c> and run headers.</summary>
    public static string Status =>
        ForcedOff ? $"off ({ConvolutionVariable}=aten)"
        : UsesOneDnn ? "oneDNN sgemm (libdnnl.so.2)"
        : ManagedGemm.Active == ManagedGemm.Isa.None ? Problem.Value ?? "libtorch (this processor has neither AVX2 nor AVX-512)"
        : $"GanSharp GEMM ({(ManagedGemm.Active == ManagedGemm.Isa.Avx512 ? "AVX-512" : "AVX2")}; "
            + (HideOneDnn ? $"oneDNN hidden by {DnnlVariable}=off)" : $"{Problem.Value?.Replace("libtorch (", "", StringComparison.Ordinal)}");

    /// <summary>Lets tests and benchmarks compare against libtorch's convolutions in one process.</summary>
    public static bool ForcedOff { get; set; } =
        string.Equals(Environment.GetEnvironmentVariable(ConvolutionVariable), "aten", StringComparison.OrdinalIgnoreCase);

    /// <summary>Row-major C = alpha·op(A)·op(B) + beta·C, as <c>dnnl_sgemm</c>.</summary>
    public static void Gemm(bool transA, bool transB, long m, long n, long k, float alpha, float* a, long lda,
        float* b, long ldb, float beta, float* c, long ldc)
    {
        if (UsesOneDnn)
        {
            int status = DnnlSgemm(transA ? (sbyte)'T' : (sbyte)'N', transB ? (sbyte)'T' : (sbyte)'N', m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
            ThrowIfFailed(status, m, n, k);
        }
        else
        {
            ManagedParallel(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
    }

    // One product as the bodies of the parallel regions below call it: on this thread inside a region (oneDNN is
    // single-threaded there too), on all threads when the body runs alone. Without the second case GanSharp's GEMM ran
    // every convolution below 64x64 and every short weight gradient on one core while the other spun (inference (b):
    // 0.19 s per image, a fifth of it the idle thread's wait).
    private static int Sgemm(sbyte transA, sbyte transB, long m, long n, long k, float alpha, float* a, long lda,
        float* b, long ldb, float beta, float* c, long ldc)
    {
        if (UsesOneDnn) return DnnlSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        bool tA = transA == (sbyte)'T', tB = transB == (sbyte)'T';
        if (OmpInParallel() != 0) ManagedGemm.Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        else ManagedParallel(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return 0;
    }

    private static void ThrowIfFailed(int status, long m, long n, long k)
    {
        if (status != 0)
            throw new InvalidOperationException($"oneDNN sgemm returned status {status} for a {m}x{n}x{k} product; set {ConvolutionVariable}=aten to "
                + $"use libtorch's convolutions and report this.");
    }

    /// <summary>Gives oneDNN the thread count libtorch uses, so that --threads bounds both.</summary>
    public static void SetThreads(int threads)
    {
        if (threads >= 1 && Available) TrySetOmpThreads(threads);
    }

    private static void TrySetOmpThreads(int threads)
    {
        try
        {
            OmpSetNumThreads(threads);
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }
    }

    // The library loads, and a small product equals the one computed in double precision: given what libtorch's
    // oneDNN does on these machines, a wrong kernel must be caught before it trains anything.
    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "libtorch (oneDNN's GEMM is used on Linux only)";
        // libtorch first, so that its OpenMP runtime is the libgomp.so.1 oneDNN gets (one thread pool, see above).
        int threads = TorchSharp.torch.get_num_threads();
        if (!NativeLibrary.TryLoad(Library, typeof(OneDnnGemm).Assembly, null, out _))
            return "libtorch (libdnnl.so.2 not found; apt-get install libdnnl2 makes convolutions 2-3x faster)";
        try
        {
            const int m = 37, n = 53, k = 41;
            var a = new float[m * k];
            var b = new float[k * n];
            var c = new float[m * n];
            for (int i = 0; i < a.Length; i++) a[i] = (float)Math.Sin(i * 0.37);
            for (int i = 0; i < b.Length; i++) b[i] = (float)Math.Cos(i * 0.11);
            fixed (float* pa = a, pb = b, pc = c)
                if (DnnlSgemm((sbyte)'N', (sbyte)'N', m, n, k, 1f, pa, k, pb, n, 0f, pc, n) != 0)
                    return "libtorch (oneDNN's sgemm refused a test product)";
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int t = 0; t < k; t++) s += (double)a[i * k + t] * b[t * n + j];
                    if (Math.Abs(s - c[i * n + j]) > 1e-4)
                        return "libtorch (oneDNN's sgemm gave a wrong test product on this machine)";
                }
            TrySetOmpThreads(threads);
            return null;
        }
        catch (EntryPointNotFoundException)
        {
            return "libtorch (libdnnl.so.2 has no dnnl_sgemm)";
        }
    }

    // Below this many multiply-adds a second thread costs more than it saves.
    private const long MinParallelWork = 1L << 20;

    private struct ManagedJob
    {
        public long M, N, K, Lda, Ldb, Ldc;
        public float* A, B, C;
        public float Alpha, Beta;
        public int Threads;
        public bool TransA, TransB;
    }

    // GanSharp's GEMM on the OpenMP threads libtorch uses: each thread takes a slice of C's columns (of its rows when C
    // is too narrow to share), and packs its own panels.
    private static void ManagedParallel(bool transA, bool transB, long m, long n, long k, float alpha, float* a, long lda,
        float* b, long ldb, float beta, float* c, long ldc)
    {
        int threads = m * n * k < MinParallelWork ? 1 : OmpMaxThreads();
        var job = new ManagedJob
        {
            M = m, N = n, K = k, A = a, Lda = lda, B = b, Ldb = ldb, C = c, Ldc = ldc, Alpha = alpha, Beta = beta,
            Threads = threads, TransA = transA, TransB = transB,
        };
        InParallel(&ManagedBody, &job, threads);
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    private static void ManagedBody(void* data)
    {
        var job = (ManagedJob*)data;
        int id = OmpThreadNum(), threads = job->Threads;
        if (id >= threads) return;
        bool byColumns = job->N >= 64 * threads;
        long length = byColumns ? job->N : job->M;
        long chunk = (length / threads + 31) & ~31L;
        long s0 = Math.Min(length, id * chunk), s1 = id == threads - 1 ? length : Math.Min(length, s0 + chunk);
        if (s1 <= s0) return;
        if (byColumns)
        {
            float* b = job->TransB ? job->B + s0 * job->Ldb : job->B + s0;
            ManagedGemm.Gemm(job->TransA, job->TransB, job->M, s1 - s0, job->K, job->Alpha, job->A, job->Lda, b, job->Ldb, job->Beta,
                job->C + s0, job->Ldc);
        }
        else
        {
            float* a = job->TransA ? job->A + s0 : job->A + s0 * job->Lda;
            ManagedGemm.Gemm(job->TransA, job->TransB, s1 - s0, job->N, job->K, job->Alpha, a, job->Lda, job->B, job->Ldb, job->Beta,
                job->C + s0 * job->Ldc, job->Ldc);
        }
    }
}
