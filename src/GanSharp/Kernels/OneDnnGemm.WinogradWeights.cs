using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GanSharp.Kernels;

// The weight gradient of the Winograd path: the same tiles and transforms, summed over samples in a fixed order.
internal static unsafe partial class OneDnnGemm
{
    /// <summary>Floats of scratch that <see cref="WinogradWeightGradient"/> needs.</summary>
    public static long WinogradWeightScratchLength(long samples, long m, long k, long h, long w)
    {
        var plan = PlanWinograd(samples, h, w);
        return plan.Threads * plan.PerThread(m, k) + (plan.Threads - 1) * WinogradPoints * m * k;
    }

    /// <summary>
    /// The weight gradient of <see cref="Winograd3x3"/>'s forward, in the transform domain: dU[ξ] ([m, k] at
    /// <paramref name="du"/> + ξ·m·k) = Σ over samples and tiles of (A g Aᵀ)[ξ] · (Bᵀ d B)[ξ]ᵀ, with g the output gradient
    /// ([N, m, h, w], contiguous) and d the input as <see cref="Winograd3x3"/> reads it (unpadded). The kernels' gradient
    /// is then Gᵀ dU G. 2.25x fewer multiplications than the tap-wise products.
    /// </summary>
    /// <remarks>
    /// Each thread sums a fixed, contiguous share of the blocks (thread 0 into dU, the others into scratch, added in
    /// thread order afterwards), so the sums do not depend on timing: exact resume relies on that.
    /// </remarks>
    public static void WinogradWeightGradient(long samples, long m, long k, long h, long w, float* input, long sampleStride,
        long planeStride, long rowWidth, float* gradient, float* du, float* scratch)
    {
        CheckWinogradGeometry(h, w, planeStride, rowWidth);
        var plan = PlanWinograd(samples, h, w);
        var job = new WinogradJob
        {
            M = m, K = k, H = h, W = w, Input = input, SampleStride = sampleStride, PlaneStride = planeStride,
            RowWidth = rowWidth, Output = gradient, U = du, Scratch = scratch, TileRows = plan.TileRows,
            TileCols = plan.TileCols, RowsPerBlock = plan.RowsPerBlock, ColsPerBlock = plan.ColsPerBlock, Blocks = plan.Blocks,
            Threads = plan.Threads, PerThread = plan.PerThread(m, k),
        };
        InParallel(&WinogradWeightBody, &job, plan.Threads);
        ThrowIfFailed(job.Failed, m, k, plan.BlockTiles);
        long size = WinogradPoints * m * k;
        float* partials = scratch + plan.Threads * plan.PerThread(m, k);
        for (int p = 1; p < plan.Threads; p++)
            System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<float>(du, checked((int)size)),
                new ReadOnlySpan<float>(partials + (p - 1) * size, (int)size), new Span<float>(du, (int)size));
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void WinogradWeightBody(void* data)
    {
        var job = (WinogradJob*)data;
        int id = OmpThreadNum();
        if (id < job->Threads) RunWinogradWeights(job, id);
    }

    private static void RunWinogradWeights(WinogradJob* job, int id)
    {
        long tb = job->RowsPerBlock * job->ColsPerBlock, m = job->M, k = job->K;
        float* v = job->Scratch + id * job->PerThread;
        float* gy = v + WinogradPoints * k * tb;
        float* stage = gy + WinogradPoints * m * tb;
        float* du = id == 0 ? job->U : job->Scratch + job->Threads * job->PerThread + (id - 1) * WinogradPoints * m * k;
        long first = job->Blocks * id / job->Threads, end = job->Blocks * (id + 1) / job->Threads;
        if (first == end) new Span<float>(du, checked((int)(WinogradPoints * m * k))).Clear();
        for (long b = first; b < end; b++)
        {
            var (s, ty0, nty, tx0, ntx) = TileBlock(job, b);
            long n = nty * ntx;
            var tiles = new TileSource(job->Input + s * job->SampleStride, job->PlaneStride, job->RowWidth, job->H, job->W, stage);
            float* g = job->Output + s * m * job->H * job->W;
            if (WideTransforms)
            {
                TransformInput<Avx512Width>(tiles, k, ty0, nty, tx0, ntx, v, n);
                TransformGradient<Avx512Width>(g, m, job->H, job->W, ty0, nty, tx0, ntx, gy, n);
            }
            else
            {
                TransformInput<Avx2Width>(tiles, k, ty0, nty, tx0, ntx, v, n);
                TransformGradient<Avx2Width>(g, m, job->H, job->W, ty0, nty, tx0, ntx, gy, n);
            }
            for (int xi = 0; xi < WinogradPoints; xi++)
            {
                int status = Sgemm((sbyte)'N', (sbyte)'T', m, k, n, 1f, gy + xi * m * n, n, v + xi * k * n, n,
                    b == first ? 0f : 1f, du + xi * m * k, k);
                if (status != 0) job->Failed = status;
            }
        }
    }

    // gy[ξ, i, r·ntx + t] = (A y Aᵀ)[ξ] of the 2x2 gradient tile at rows 2(ty0+r).., columns 2(tx0+t).. of plane i:
    // the adjoint of the output transform.
    private static void TransformGradient<TW>(float* g, long m, long h, long w, long ty0, long nty, long tx0, long ntx, float* gy, long n)
        where TW : struct, IVectorWidth
    {
        long point = m * n;
        for (long i = 0; i < m; i++)
            for (long r = 0; r < nty; r++)
            {
                float* top = g + i * h * w + 2 * (ty0 + r) * w + 2 * tx0;
                float* dst = gy + i * n + r * ntx;
                long t = 0;
                for (; t + 16 <= ntx; t += 16)
                {
                    float* p = top + 2 * t;
                    var a0 = Lanes<TW>(p, false);
                    var a1 = Lanes<TW>(p, true);
                    var b0 = Lanes<TW>(p + w, false);
                    var b1 = Lanes<TW>(p + w, true);
                    // A along the rows (2 columns into 4), then along the columns.
                    var z0 = a0; var z1 = a0 + a1; var z2 = a0 - a1; var z3 = -a1;
                    var y0 = b0; var y1 = b0 + b1; var y2 = b0 - b1; var y3 = -b1;
                    float* q = dst + t;
                    Store4(q, point, z0, z1, z2, z3);
                    Store4(q + 4 * point, point, z0 + y0, z1 + y1, z2 + y2, z3 + y3);
                    Store4(q + 8 * point, point, z0 - y0, z1 - y1, z2 - y2, z3 - y3);
                    Store4(q + 12 * point, point, -y0, -y1, -y2, -y3);
                }
                for (; t < ntx; t++)
                {
                    float* p = top + 2 * t;
                    float* q = dst + t;
                    float z0 = p[0], z1 = p[0] + p[1], z2 = p[0] - p[1], z3 = -p[1];
                    float y0 = p[w], y1 = p[w] + p[w + 1], y2 = p[w] - p[w + 1], y3 = -p[w + 1];
                    q[0] = z0; q[point] = z1; q[2 * point] = z2; q[3 * point] = z3;
                    q[4 * point] = z0 + y0; q[5 * point] = z1 + y1; q[6 * point] = z2 + y2; q[7 * point] = z3 + y3;
                    q[8 * point] = z0 - y0; q[9 * point] = z1 - y1; q[10 * point] = z2 - y2; q[11 * point] = z3 - y3;
                    q[12 * point] = -y0; q[13 * point] = -y1; q[14 * point] = -y2; q[15 * point] = -y3;
                }
            }
    }
}
