using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GanSharp.Runtime;

public static unsafe partial class OneDnnGemm
{
    // libtorch's bundled OpenMP runtime carries the soname libgomp.so.1, so the dynamic loader hands it to libdnnl as
    // well: one thread pool serves libtorch, oneDNN and the parallel region below.
    [LibraryImport("libgomp.so.1", EntryPoint = "GOMP_parallel")]
    private static partial void GompParallel(delegate* unmanaged[Cdecl]<void*, void> body, void* data, uint threads, uint flags);

    [LibraryImport("libgomp.so.1", EntryPoint = "omp_get_thread_num")]
    private static partial int OmpThreadNum();

    [LibraryImport("libgomp.so.1", EntryPoint = "omp_get_max_threads")]
    private static partial int OmpMaxThreads();

    // Below this inner length per thread, oneDNN's own threading is as good and a parallel region is not worth it.
    private const long MinSplitLength = 4096;

    /// <summary>
    /// Weight-gradient products with a long inner dimension: for every sample s and tap t,
    /// <c>C_t = Σ_s A_s · B_{s,t}ᵀ</c> with A_s = <paramref name="a"/> + s·<paramref name="aSample"/> ([m, k], row stride
    /// <paramref name="lda"/>) and B_{s,t} = <paramref name="b"/> + s·<paramref name="bSample"/> + offsets[t] ([n, k],
    /// row stride <paramref name="ldb"/>), C_t = <paramref name="c"/> + t·m·n (row-major [m, n]).
    /// </summary>
    /// <remarks>
    /// oneDNN threads a product of small m·n (128x128) and long k (65,536 positions) poorly: it reached 170 GFLOP/s
    /// on 2 cores where the same products split along k, one single-threaded GEMM per thread and the partial sums
    /// added afterwards, reached 245 (32x32: 85 against 196). This splits k over the OpenMP threads that libtorch and
    /// oneDNN share; oneDNN runs single-threaded inside a parallel region. <paramref name="partials"/> holds
    /// (threads − 1)·taps·m·n floats for the other threads' sums; thread 0 writes into C.
    /// </remarks>
    public static void WeightGradient(long samples, long taps, long m, long n, long k, float* a, long aSample, long lda,
        float* b, long bSample, long ldb, long* offsets, float* c, float* partials, int threads)
    {
        var job = new SplitJob
        {
            Samples = samples, Taps = taps, M = m, N = n, K = k, A = a, ASample = aSample, Lda = lda, B = b,
            BSample = bSample, Ldb = ldb, Offsets = offsets, C = c, Partials = partials, Threads = threads,
        };
        if (threads <= 1)
        {
            RunPart(&job, 0);
        }
        else
        {
            GompParallel(&SplitBody, &job, (uint)threads, 0);
        }
        if (job.Failed != 0)
            throw new InvalidOperationException($"oneDNN sgemm returned status {job.Failed} for a {m}x{n}x{k} weight gradient; set {ConvolutionVariable}=aten to use libtorch's convolutions and report this.");
        long size = taps * m * n;
        for (int p = 1; p < threads; p++)
        {
            float* src = partials + (p - 1) * size;
            // The partial sums are a few hundred KB: a plain loop the JIT vectorises is enough.
            for (long i = 0; i < size; i++) c[i] += src[i];
        }
    }

    /// <summary>How many threads <see cref="WeightGradient"/> should split an inner dimension of <paramref name="k"/> over.</summary>
    public static int SplitThreads(long k)
    {
        int threads = OmpMaxThreads();
        while (threads > 1 && k / threads < MinSplitLength) threads--;
        return threads;
    }

    private struct SplitJob
    {
        public long Samples, Taps, M, N, K, ASample, Lda, BSample, Ldb;
        public float* A, B, C, Partials;
        public long* Offsets;
        public int Threads, Failed;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void SplitBody(void* data)
    {
        var job = (SplitJob*)data;
        int id = OmpThreadNum();
        if (id < job->Threads) RunPart(job, id);
    }

    private static void RunPart(SplitJob* job, int id)
    {
        // 16-float aligned chunks: each thread streams its own cache lines of A and B.
        long chunk = (job->K / job->Threads + 15) & ~15L;
        long k0 = Math.Min(job->K, id * chunk), k1 = id == job->Threads - 1 ? job->K : Math.Min(job->K, k0 + chunk);
        long mn = job->M * job->N;
        float* output = id == 0 ? job->C : job->Partials + (id - 1) * job->Taps * mn;
        for (long s = 0; s < job->Samples; s++)
        for (long t = 0; t < job->Taps; t++)
        {
            float* target = output + t * mn;
            if (k1 <= k0)
            {
                if (s == 0) new Span<float>(target, (int)mn).Clear();
                continue;
            }
            int status = Sgemm((sbyte)'N', (sbyte)'T', job->M, job->N, k1 - k0, 1f,
                job->A + s * job->ASample + k0, job->Lda,
                job->B + s * job->BSample + job->Offsets[t] + k0, job->Ldb,
                s == 0 ? 0f : 1f, target, job->N);
            if (status != 0) job->Failed = status;
        }
    }
}
