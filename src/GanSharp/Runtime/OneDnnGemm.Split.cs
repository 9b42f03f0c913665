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
        ThrowIfFailed(job.Failed, m, n, k);
        long size = taps * m * n;
        for (int p = 1; p < threads; p++)
        {
            float* src = partials + (p - 1) * size;
            // A few hundred KB of partial sums: a scalar loop takes ~0.1 ms against the GEMMs' tens.
            for (long i = 0; i < size; i++) c[i] += src[i];
        }
    }

    /// <summary>How many threads <see cref="WeightGradient"/> should split an inner dimension of <paramref name="k"/> over.</summary>
    public static int SplitThreads(long k) => ThreadsFor(k, MinSplitLength);

    // The most OpenMP threads that still get at least minPerThread of length each (at least 1).
    private static int ThreadsFor(long length, long minPerThread)
    {
        int threads = OmpMaxThreads();
        while (threads > 1 && length / threads < minPerThread) threads--;
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

public static unsafe partial class OneDnnGemm
{
    // Columns per block: a block of the output (≤ 512 × 2048 floats) stays in cache while all taps accumulate into it.
    private const long TapBlock = 2048;

    /// <summary>
    /// Tap-wise products accumulated into one output: for every sample s and tap t,
    /// <c>C_s += op(A_t) · B_{s,t}</c> (the first tap with <paramref name="beta0"/>), where A_t = <paramref name="a"/> +
    /// aOffsets[t] (op = transpose when <paramref name="transA"/>, leading dimension <paramref name="lda"/>), B_{s,t} =
    /// <paramref name="b"/> + s·<paramref name="bSample"/> + bOffsets[t] ([k, n], row stride <paramref name="ldb"/>) and
    /// C_s = <paramref name="c"/> + s·<paramref name="cSample"/> ([m, n], row stride <paramref name="ldc"/>).
    /// </summary>
    /// <remarks>
    /// One GEMM per tap over all n columns streams the whole output through memory once per tap (9 times for 3x3).
    /// Here each OpenMP thread takes a share of the columns and runs all taps on one 2,048-column block before the next,
    /// so the block stays in cache: 128x66048x128 x 9 taps went from 310-320 to 345-365 GFLOP/s on 2 cores. Below
    /// 2 blocks per thread, oneDNN's own threading over m is left to do the work.
    /// </remarks>
    public static void TapProducts(long samples, long taps, bool transA, long m, long n, long k, float* a, long* aOffsets,
        long lda, float* b, long bSample, long* bOffsets, long ldb, float* c, long cSample, long ldc, float beta0)
    {
        int threads = ThreadsFor(n, 2 * TapBlock);
        var job = new TapJob
        {
            Samples = samples, Taps = taps, TransA = transA ? (sbyte)'T' : (sbyte)'N', M = m, N = n, K = k, A = a,
            AOffsets = aOffsets, Lda = lda, B = b, BSample = bSample, BOffsets = bOffsets, Ldb = ldb, C = c,
            CSample = cSample, Ldc = ldc, Beta0 = beta0, Threads = threads,
        };
        if (threads <= 1)
        {
            for (long s = 0; s < samples; s++)
            for (long t = 0; t < taps; t++)
                Gemm(transA, false, m, n, k, 1f, a + aOffsets[t], lda, b + s * bSample + bOffsets[t], ldb,
                    t == 0 ? beta0 : 1f, c + s * cSample, ldc);
            return;
        }
        GompParallel(&TapBody, &job, (uint)threads, 0);
        ThrowIfFailed(job.Failed, m, n, k);
    }

    private struct TapJob
    {
        public long Samples, Taps, M, N, K, Lda, BSample, Ldb, CSample, Ldc;
        public float* A, B, C;
        public long* AOffsets, BOffsets;
        public float Beta0;
        public sbyte TransA;
        public int Threads, Failed;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void TapBody(void* data)
    {
        var job = (TapJob*)data;
        int id = OmpThreadNum();
        if (id >= job->Threads) return;
        long share = (job->N / job->Threads + 15) & ~15L;
        long n0 = Math.Min(job->N, id * share), n1 = id == job->Threads - 1 ? job->N : Math.Min(job->N, n0 + share);
        for (long s = 0; s < job->Samples; s++)
        for (long b0 = n0; b0 < n1; b0 += TapBlock)
        {
            long nb = Math.Min(TapBlock, n1 - b0);
            for (long t = 0; t < job->Taps; t++)
            {
                int status = Sgemm(job->TransA, (sbyte)'N', job->M, nb, job->K, 1f, job->A + job->AOffsets[t], job->Lda,
                    job->B + s * job->BSample + job->BOffsets[t] + b0, job->Ldb, t == 0 ? job->Beta0 : 1f,
                    job->C + s * job->CSample + b0, job->Ldc);
                if (status != 0) job->Failed = status;
            }
        }
    }
}
