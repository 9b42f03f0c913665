using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GanSharp.Kernels;

internal static unsafe partial class OneDnnGemm
{
    // libtorch's bundled OpenMP runtime carries the soname libgomp.so.1, so the dynamic loader hands it to libdnnl as
    // well: one thread pool serves libtorch, oneDNN and the parallel region below.
    [LibraryImport("libgomp.so.1", EntryPoint = "GOMP_parallel")]
    private static partial void GompParallel(delegate* unmanaged[Cdecl]<void*, void> body, void* data, uint threads, uint flags);

    [LibraryImport("libgomp.so.1", EntryPoint = "omp_get_thread_num")]
    internal static partial int OmpThreadNum();

    [LibraryImport("libgomp.so.1", EntryPoint = "omp_get_max_threads")]
    private static partial int OmpMaxThreads();

    [LibraryImport("libgomp.so.1", EntryPoint = "omp_in_parallel")]
    private static partial int OmpInParallel();

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
        InParallel(&SplitBody, &job, threads);
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

    // Runs body(data) on that many OpenMP threads, or on this one alone, where omp_get_thread_num() is 0 too and the
    // products inside keep their own threading (Sgemm).
    internal static void InParallel(delegate* unmanaged[Cdecl]<void*, void> body, void* data, int threads)
    {
        if (threads <= 1) body(data);
        else GompParallel(body, data, (uint)threads, 0);
    }

    // The most OpenMP threads that still get at least minPerThread of length each (at least 1).
    internal static int ThreadsFor(long length, long minPerThread)
    {
        int threads = OmpMaxThreads();
        while (threads > 1 && length / threads < minPerThread) threads--;
        return threads;
    }

    // Positions per block of the weight gradient: a block of both operands (≤ 256 rows × 1,024 floats each) stays in
    // cache while all taps use it.
    private const long WeightBlock = 1024;

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
        if (k1 <= k0)
        {
            new Span<float>(output, (int)(mn * job->Taps)).Clear();
            return;
        }
        // Blocks pay only when several taps reuse them (one GEMM per tap, same A block, B blocks overlapping).
        long block = job->Taps > 1 ? WeightBlock : k1 - k0;
        for (long s = 0; s < job->Samples; s++)
            for (long b0 = k0; b0 < k1; b0 += block)
            {
                long kb = Math.Min(block, k1 - b0);
                for (long t = 0; t < job->Taps; t++)
                {
                    int status = Sgemm((sbyte)'N', (sbyte)'T', job->M, job->N, kb, 1f,
                        job->A + s * job->ASample + b0, job->Lda,
                        job->B + s * job->BSample + job->Offsets[t] + b0, job->Ldb,
                        s == 0 && b0 == k0 ? 0f : 1f, output + t * mn, job->N);
                    if (status != 0) job->Failed = status;
                }
            }
    }
}

internal static unsafe partial class OneDnnGemm
{
    // Columns per block: a block of the output (≤ 512 × 2048 floats) stays in cache while all taps accumulate into it.
    private const long TapBlock = 2048;

    /// <summary>Floats of scratch that <see cref="TapProducts"/> needs for an [m, n] product.</summary>
    public static long TapScratchLength(long m, long n) => TapThreads(n) * m * Math.Min(TapBlock, n);

    private static int TapThreads(long n) => ThreadsFor(n, 2 * TapBlock);

    /// <summary>
    /// Tap-wise products summed into one output: for every sample s, <c>P_s = Σ_t op(A_t) · B_{s,t}</c>, where A_t =
    /// <paramref name="a"/> + aOffsets[t] (op = transpose when <paramref name="transA"/>, leading dimension
    /// <paramref name="lda"/>) and B_{s,t} = <paramref name="b"/> + s·<paramref name="bSample"/> + bOffsets[t] ([k, n],
    /// row stride <paramref name="ldb"/>). P_s's columns are image rows of <paramref name="rowIn"/> positions of which
    /// the first <paramref name="rowOut"/> are kept: C_s[i, r·rowOut + j] = P_s[i, r·rowIn + j] + bias[i] for j &lt; rowOut,
    /// C_s = <paramref name="c"/> + s·m·(n / rowIn)·rowOut, contiguous. <paramref name="bias"/> may be null.
    /// </summary>
    /// <remarks>
    /// One GEMM per tap over all n columns would stream the whole output through memory once per tap (9 times for 3x3).
    /// Here each OpenMP thread takes one 2,048-column block at a time and runs all taps on it in
    /// <paramref name="scratch"/> (<see cref="TapScratchLength"/> floats) before the next, so the block stays in cache:
    /// 128x66048x128 x 9 taps went from 310-320 to 345-365 GFLOP/s on 2 cores. The block is then written to its place in
    /// the output with the bias added and the dropped columns left out, while it is still in cache: the output is written
    /// once, instead of a bias fill, the GEMMs' read-modify-write and a copy that drops the columns. Below 2 blocks per
    /// thread, one thread runs the blocks and oneDNN's own threading over m does the work.
    /// </remarks>
    public static void TapProducts(long samples, long taps, bool transA, long m, long n, long k, float* a, long* aOffsets,
        long lda, float* b, long bSample, long* bOffsets, long ldb, float* c, long rowIn, long rowOut, float* bias, float* scratch)
    {
        if (n % rowIn != 0 || rowOut > rowIn)
            throw new ArgumentException($"{n} product columns are not whole rows of {rowIn} keeping {rowOut}.");
        int threads = TapThreads(n);
        var job = new TapJob
        {
            Samples = samples, Taps = taps, TransA = transA ? (sbyte)'T' : (sbyte)'N', M = m, N = n, K = k, A = a,
            AOffsets = aOffsets, Lda = lda, B = b, BSample = bSample, BOffsets = bOffsets, Ldb = ldb, C = c,
            RowIn = rowIn, RowOut = rowOut, Bias = bias, Scratch = scratch, Block = Math.Min(TapBlock, n), Threads = threads,
        };
        InParallel(&TapBody, &job, threads);
        ThrowIfFailed(job.Failed, m, n, k);
    }

    private struct TapJob
    {
        public long Samples, Taps, M, N, K, Lda, BSample, Ldb, RowIn, RowOut, Block, Next;
        public float* A, B, C, Bias, Scratch;
        public long* AOffsets, BOffsets;
        public sbyte TransA;
        public int Threads, Failed;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void TapBody(void* data)
    {
        var job = (TapJob*)data;
        int id = OmpThreadNum();
        if (id < job->Threads) RunTaps(job, id);
    }

    // Blocks are handed out one at a time rather than in fixed shares: the two vCPUs of these VMs often run at different
    // speeds (crop 256 defaults: 3 % faster per iteration). Each block is still summed by one thread in tap order, so
    // the result does not depend on which thread took it.
    private static void RunTaps(TapJob* job, int id)
    {
        long lds = job->Block;
        float* block = job->Scratch + id * job->M * lds;
        long channelStride = job->N / job->RowIn * job->RowOut;
        long perSample = (job->N + lds - 1) / lds;
        for (long u = Interlocked.Increment(ref job->Next) - 1; u < job->Samples * perSample; u = Interlocked.Increment(ref job->Next) - 1)
        {
            long s = u / perSample, b0 = u % perSample * lds, nb = Math.Min(lds, job->N - b0);
            for (long t = 0; t < job->Taps; t++)
            {
                int status = Sgemm(job->TransA, (sbyte)'N', job->M, nb, job->K, 1f, job->A + job->AOffsets[t], job->Lda,
                    job->B + s * job->BSample + job->BOffsets[t] + b0, job->Ldb, t == 0 ? 0f : 1f, block, lds);
                if (status != 0) job->Failed = status;
            }
            WriteBlock(job, block, b0, nb, job->C + s * job->M * channelStride, channelStride);
        }
    }

    // Copies the kept columns of one block ([M, nb] at stride Block, product columns b0..b0+nb) to the output, plus bias.
    private static void WriteBlock(TapJob* job, float* block, long b0, long nb, float* output, long channelStride)
    {
        long rowIn = job->RowIn, rowOut = job->RowOut, end = b0 + nb;
        for (long i = 0; i < job->M; i++)
        {
            float* src = block + i * job->Block;
            float* dst = output + i * channelStride;
            float bias = job->Bias is null ? 0f : job->Bias[i];
            for (long p = b0; p < end;)
            {
                long r = p / rowIn, j = p - r * rowIn;
                if (j < rowOut)
                {
                    int len = (int)(Math.Min(end, r * rowIn + rowOut) - p);
                    var from = new ReadOnlySpan<float>(src + (p - b0), len);
                    var to = new Span<float>(dst + r * rowOut + j, len);
                    if (job->Bias is null) from.CopyTo(to);
                    else TensorPrimitives.Add(from, bias, to);
                }
                p = (r + 1) * rowIn;
            }
        }
    }
}

internal static unsafe partial class OneDnnGemm
{
    /// <summary>
    /// col2im: output[s, c] (an H×W plane, overwritten) = Σ over taps (ki, kj) and column positions (oh, ow) of
    /// cols[s, c·k² + ki·k + kj, oh·Wo + ow], added at (oh·stride − padding + ki, ow·stride − padding + kj) when inside.
    /// </summary>
    /// <remarks>
    /// The same sums in the same order as libtorch's <c>F.fold</c>, which runs on one thread while the other core waits.
    /// Here the threads take (sample, channel) planes one at a time: crop 256 with the VAE (benchmark d) 1.4 % faster
    /// per iteration (interleaved A/B, 2.616 s against 2.653 s).
    /// </remarks>
    public static void Fold(float* cols, long samples, long channels, long k, long stride, long padding, long ho, long wo,
        long h, long w, float* output)
    {
        var job = new FoldJob
        {
            Cols = cols, Output = output, Planes = samples * channels, K = k, Stride = stride, Padding = padding,
            Ho = ho, Wo = wo, H = h, W = w,
        };
        int threads = ThreadsFor(samples * channels * ho * wo * k * k, MinFoldPerThread);
        InParallel(&FoldBody, &job, threads);
    }

    // Column values per thread below which a parallel region costs more than it saves.
    private const long MinFoldPerThread = 1 << 16;

    private struct FoldJob
    {
        public float* Cols, Output;
        public long Planes, K, Stride, Padding, Ho, Wo, H, W, Next;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void FoldBody(void* data) => RunFold((FoldJob*)data);

    private static void RunFold(FoldJob* job)
    {
        long k = job->K, stride = job->Stride, pad = job->Padding, ho = job->Ho, wo = job->Wo, h = job->H, w = job->W;
        long columns = ho * wo;
        for (long u = Interlocked.Increment(ref job->Next) - 1; u < job->Planes; u = Interlocked.Increment(ref job->Next) - 1)
        {
            float* dst = job->Output + u * h * w;
            new Span<float>(dst, checked((int)(h * w))).Clear();
            float* src = job->Cols + u * k * k * columns;
            for (long ki = 0; ki < k; ki++)
                for (long kj = 0; kj < k; kj++)
                {
                    float* plane = src + (ki * k + kj) * columns;
                    // Output columns ow whose x = ow·stride − pad + kj lies in [0, w).
                    long first = pad - kj <= 0 ? 0 : (pad - kj + stride - 1) / stride;
                    long last = w - 1 + pad - kj < 0 ? -1 : Math.Min(wo - 1, (w - 1 + pad - kj) / stride);
                    for (long oh = 0; oh < ho; oh++)
                    {
                        long y = oh * stride - pad + ki;
                        if (y < 0 || y >= h) continue;
                        float* row = plane + oh * wo;
                        float* target = dst + y * w - pad + kj;
                        for (long ow = first; ow <= last; ow++) target[ow * stride] += row[ow];
                    }
                }
        }
    }
}
