using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GanSharp.Kernels;

/// <summary>
/// Winograd F(4x4, 3x3) for the forward of 3x3 "same" layers at inference: 6x6 input tiles at stride 4, 36 products
/// of inner dimension Cin, 4x4 output tiles. 36 multiplications per 16 outputs where F(2x2, 3x3) needs 64 and the
/// direct convolution 144. Its transforms carry factors up to 8, so it loses about a decimal digit against F(2x2, 3x3)
/// (~1e-6 of a layer's largest output in float32); training keeps F(2x2, 3x3), whose gradients the reference-parity
/// tests pin, and only a frozen model (<c>gansharp test</c>, the studio) takes this path. AVX-512 only: the
/// transforms pick every fourth float of a row with two-source permutes.
/// </summary>
/// <remarks>
/// Same organisation as <see cref="Winograd3x3"/>: blocks of tiles handed out one at a time, each transformed into
/// cache, multiplied and transformed back by one thread in a fixed order, so pictures do not depend on scheduling.
/// Matrices (points 0, ±1, ±2, ∞): Bᵀ rows (4,0,−5,0,1,0), (0,−4,−4,1,1,0), (0,4,−4,−1,1,0), (0,−2,−1,2,1,0),
/// (0,2,−1,−2,1,0), (0,4,0,−5,0,1); Aᵀ rows (1,1,1,1,1,0), (0,1,−1,2,−2,0), (0,1,1,4,4,0), (0,1,−1,8,−8,1).
/// </remarks>
internal static unsafe partial class OneDnnGemm
{
    /// <summary>Transform points per tile of F(4x4, 3x3).</summary>
    public const int Winograd4Points = 36;

    // 36·(Cin+Cout)·64 floats: 2.4 MB at 128 channels each way; 32 tiles starve the products, 128 leave L2 far behind.
    private const long Winograd4BlockTiles = 64;

    /// <summary>Whether F(4x4, 3x3) can run here (AVX-512, and the GEMM not forced to its AVX2 kernel).</summary>
    public static bool Winograd4Available => WideTransforms;

    private static WinogradPlan PlanWinograd4(long samples, long h, long w)
    {
        long th = h / 4, tw = w / 4;
        long cols = Math.Min(tw, Winograd4BlockTiles);
        long rows = Math.Clamp(Winograd4BlockTiles / cols, 1, th);
        long blocks = samples * ((th + rows - 1) / rows) * ((tw + cols - 1) / cols);
        int threads = OmpMaxThreads();
        while (threads > 1 && blocks < 2 * threads) threads--;
        return new WinogradPlan(th, tw, rows, cols, blocks, threads);
    }

    // Staged padded rows (4·rows+2 of them) and the six vertical combinations of one tile row, per thread.
    private static long Stage4Width(long cols) => (4 * cols + 2 + 15) & ~15L;

    private static long PerThread4(WinogradPlan plan, long m, long k) =>
        Winograd4Points * (m + k) * plan.BlockTiles + (4 * plan.RowsPerBlock + 2 + 6) * Stage4Width(plan.ColsPerBlock);

    /// <summary>Floats of scratch that <see cref="Winograd4x4"/> needs.</summary>
    public static long Winograd4ScratchLength(long samples, long m, long k, long h, long w)
    {
        var plan = PlanWinograd4(samples, h, w);
        return plan.Threads * PerThread4(plan, m, k);
    }

    /// <summary>
    /// output[s] ([m, h, w]) = the 3x3 "same" convolution of input[s] (k planes of h×w, plane stride
    /// <paramref name="planeStride"/>, rows of <paramref name="rowWidth"/>) with the kernels whose F(4x4, 3x3) transforms
    /// <paramref name="u"/> holds ([36, m, k]), + bias. h and w must be multiples of 4.
    /// </summary>
    public static void Winograd4x4(long samples, long m, long k, long h, long w, float* input, long sampleStride, long planeStride,
        long rowWidth, float* u, float* bias, float* output, float* scratch)
    {
        if (h % 4 != 0 || w % 4 != 0 || rowWidth < w || planeStride < h * rowWidth)
            throw new ArgumentException($"Winograd F(4x4, 3x3) needs sides that are multiples of 4 in whole planes, not {h}x{w}.");
        if (!Winograd4Available) throw new InvalidOperationException("Winograd F(4x4, 3x3) needs AVX-512.");
        var plan = PlanWinograd4(samples, h, w);
        var job = new WinogradJob
        {
            M = m, K = k, H = h, W = w, Input = input, SampleStride = sampleStride, PlaneStride = planeStride, RowWidth = rowWidth,
            U = u, Bias = bias, Output = output, Scratch = scratch, TileRows = plan.TileRows, TileCols = plan.TileCols,
            RowsPerBlock = plan.RowsPerBlock, ColsPerBlock = plan.ColsPerBlock, Blocks = plan.Blocks, Threads = plan.Threads,
            PerThread = PerThread4(plan, m, k),
        };
        InParallel(&Winograd4Body, &job, plan.Threads);
        ThrowIfFailed(job.Failed, m, plan.BlockTiles, k);
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void Winograd4Body(void* data)
    {
        var job = (WinogradJob*)data;
        int id = job->Threads == 1 ? 0 : OmpThreadNum();
        if (id < job->Threads) RunWinograd4(job, id);
    }

    private static void RunWinograd4(WinogradJob* job, int id)
    {
        long tb = job->RowsPerBlock * job->ColsPerBlock;
        float* v = job->Scratch + id * job->PerThread;
        float* products = v + Winograd4Points * job->K * tb;
        float* stage = products + Winograd4Points * job->M * tb;
        for (long b = Interlocked.Increment(ref job->Next) - 1; b < job->Blocks; b = Interlocked.Increment(ref job->Next) - 1)
        {
            var (s, ty0, nty, tx0, ntx) = TileBlock(job, b);
            long n = nty * ntx;
            TransformInput4(job->Input + s * job->SampleStride, job->K, job->PlaneStride, job->RowWidth, job->H, job->W,
                ty0, nty, tx0, ntx, stage, v, n);
            for (int xi = 0; xi < Winograd4Points; xi++)
            {
                int status = Sgemm((sbyte)'N', (sbyte)'N', job->M, n, job->K, 1f, job->U + xi * job->M * job->K, job->K,
                    v + xi * job->K * n, n, 0f, products + xi * job->M * n, n);
                if (status != 0) job->Failed = status;
            }
            TransformOutput4(products, job->M, n, job->Bias, job->Output + s * job->M * job->H * job->W, job->H, job->W, ty0, nty, tx0, ntx);
        }
    }

    // v[ξ, c, r·ntx + t] = (Bᵀ d B)[ξ] of the 6x6 tile at padded rows 4(ty0+r).., columns 4(tx0+t).. of plane c.
    private static void TransformInput4(float* x, long k, long planeStride, long rowWidth, long h, long w, long ty0, long nty,
        long tx0, long ntx, float* stage, float* v, long n)
    {
        long width = Stage4Width(ntx), count = 4 * ntx + 2;
        float* combos = stage + (4 * nty + 2) * width;
        long point = k * n;
        for (long c = 0; c < k; c++)
        {
            CopyPadded(x + c * planeStride, rowWidth, h, w, 4 * ty0 - 1, 4 * nty + 2, 4 * tx0 - 1, count, stage, width);
            for (long r = 0; r < nty; r++)
            {
                // Bᵀ down the columns: six rows of combinations, contiguous along x.
                float* d = stage + 4 * r * width;
                long i = 0;
                for (; i + 16 <= count; i += 16)
                {
                    float* e = d + i;
                    StoreB(Vector512.Load(e), Vector512.Load(e + width), Vector512.Load(e + 2 * width), Vector512.Load(e + 3 * width),
                        Vector512.Load(e + 4 * width), Vector512.Load(e + 5 * width), combos + i, width);
                }
                for (; i < count; i++)
                {
                    float* e = d + i;
                    StoreB(e[0], e[width], e[2 * width], e[3 * width], e[4 * width], e[5 * width], combos + i, width);
                }
                float* dst = v + c * n + r * ntx;
                long t = 0;
                for (; t + 16 <= ntx; t += 16)
                    for (int a = 0; a < 6; a++)
                    {
                        Columns4(combos + a * width + 4 * t, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5);
                        StoreB(c0, c1, c2, c3, c4, c5, dst + t + 6 * a * point, point);
                    }
                for (; t < ntx; t++)
                    for (int a = 0; a < 6; a++)
                    {
                        float* p = combos + a * width + 4 * t;
                        StoreB(p[0], p[1], p[2], p[3], p[4], p[5], dst + t + 6 * a * point, point);
                    }
            }
        }
    }

    // output[a·stride] = (Bᵀ (d0, ..., d5))[a]: one side of the input transform, down the columns or along the rows,
    // for 16 tiles at once.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreB(Vector512<float> d0, Vector512<float> d1, Vector512<float> d2, Vector512<float> d3, Vector512<float> d4,
        Vector512<float> d5, float* output, long stride)
    {
        (Vector512.Create(4f) * d0 - Vector512.Create(5f) * d2 + d4).Store(output);
        (d4 + d3 - Vector512.Create(4f) * (d1 + d2)).Store(output + stride);
        (d4 - d3 + Vector512.Create(4f) * (d1 - d2)).Store(output + 2 * stride);
        (d4 - d2 + Vector512.Create(2f) * (d3 - d1)).Store(output + 3 * stride);
        (d4 - d2 + Vector512.Create(2f) * (d1 - d3)).Store(output + 4 * stride);
        (Vector512.Create(4f) * d1 - Vector512.Create(5f) * d3 + d5).Store(output + 5 * stride);
    }

    // The same sums in the same order, for one tile.
    private static void StoreB(float d0, float d1, float d2, float d3, float d4, float d5, float* output, long stride)
    {
        output[0] = 4f * d0 - 5f * d2 + d4;
        output[stride] = d4 + d3 - 4f * (d1 + d2);
        output[2 * stride] = d4 - d3 + 4f * (d1 - d2);
        output[3 * stride] = d4 - d2 + 2f * (d3 - d1);
        output[4 * stride] = d4 - d2 + 2f * (d1 - d3);
        output[5 * stride] = 4f * d1 - 5f * d3 + d5;
    }

    // Lanes 0-7: floats j, 4+j, ..., 28+j of a register pair (tiles 0-7 of its 32 floats; lanes 8-15 unused).
    private static readonly Vector512<int> Pick0 = Vector512.Create(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
    private static readonly Vector512<int> Pick1 = Pick0 + Vector512.Create(1);
    private static readonly Vector512<int> Pick2 = Pick0 + Vector512.Create(2);
    private static readonly Vector512<int> Pick3 = Pick0 + Vector512.Create(3);
    // Lanes 1-15 of the first source, then float 14 (15) of the second.
    private static readonly Vector512<int> Shift14 = Vector512.Create(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 30);
    private static readonly Vector512<int> Shift15 = Vector512.Create(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 31);

    // c_j[t] = p[4t + j] for 16 tiles t and j = 0..5 (p[0..66) read).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Columns4(float* p, out Vector512<float> c0, out Vector512<float> c1, out Vector512<float> c2,
        out Vector512<float> c3, out Vector512<float> c4, out Vector512<float> c5)
    {
        var z0 = Vector512.Load(p); var z1 = Vector512.Load(p + 16); var z2 = Vector512.Load(p + 32); var z3 = Vector512.Load(p + 48);
        // Tiles 0-7 come from z0:z1, tiles 8-15 from z2:z3; each permute fills 8 lanes, the insert joins the halves.
        c0 = Join(Avx512F.PermuteVar16x32x2(z0, Pick0, z1), Avx512F.PermuteVar16x32x2(z2, Pick0, z3));
        c1 = Join(Avx512F.PermuteVar16x32x2(z0, Pick1, z1), Avx512F.PermuteVar16x32x2(z2, Pick1, z3));
        c2 = Join(Avx512F.PermuteVar16x32x2(z0, Pick2, z1), Avx512F.PermuteVar16x32x2(z2, Pick2, z3));
        c3 = Join(Avx512F.PermuteVar16x32x2(z0, Pick3, z1), Avx512F.PermuteVar16x32x2(z2, Pick3, z3));
        // Columns 4 and 5 of tile t are columns 0 and 1 of tile t+1: shifted by a lane, the last tile's from p[64], p[65].
        var tail = Vector512.Load(p + 50);
        c4 = Avx512F.PermuteVar16x32x2(c0, Shift14, tail);
        c5 = Avx512F.PermuteVar16x32x2(c1, Shift15, tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Join(Vector512<float> low, Vector512<float> high) => Avx512F.InsertVector256(low, high.GetLower(), 1);

    private static readonly Vector512<int> Pair0 = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> Pair1 = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    private static readonly Vector512<long> Quad0 = Vector512.Create(0L, 8, 1, 9, 2, 10, 3, 11);
    private static readonly Vector512<long> Quad1 = Vector512.Create(4L, 12, 5, 13, 6, 14, 7, 15);

    // output[i, 4(ty0+r)+a, 4(tx0+t)+b] = (Aᵀ m A)[a, b] of products[·, i, r·ntx + t] (+ bias[i]).
    private static void TransformOutput4(float* products, long m, long n, float* bias, float* output, long h, long w,
        long ty0, long nty, long tx0, long ntx)
    {
        long point = m * n;
        var rows = stackalloc Vector512<float>[24];
        for (long i = 0; i < m; i++)
        {
            float b = bias is null ? 0f : bias[i];
            var bv = Vector512.Create(b);
            for (long r = 0; r < nty; r++)
            {
                float* src = products + i * n + r * ntx;
                float* top = output + i * h * w + 4 * (ty0 + r) * w + 4 * tx0;
                long t = 0;
                for (; t + 16 <= ntx; t += 16)
                {
                    float* q = src + t;
                    // Aᵀ down the columns (6 point rows into 4), then along the rows.
                    for (int col = 0; col < 6; col++)
                    {
                        var m0 = Vector512.Load(q + col * point); var m1 = Vector512.Load(q + (6 + col) * point);
                        var m2 = Vector512.Load(q + (12 + col) * point); var m3 = Vector512.Load(q + (18 + col) * point);
                        var m4 = Vector512.Load(q + (24 + col) * point); var m5 = Vector512.Load(q + (30 + col) * point);
                        var s12 = m1 + m2; var d12 = m1 - m2; var s34 = m3 + m4; var d34 = m3 - m4;
                        rows[col] = m0 + s12 + s34;
                        rows[6 + col] = d12 + Vector512.Create(2f) * d34;
                        rows[12 + col] = s12 + Vector512.Create(4f) * s34;
                        rows[18 + col] = d12 + Vector512.Create(8f) * d34 + m5;
                    }
                    for (int a = 0; a < 4; a++)
                    {
                        var e = rows + 6 * a;
                        var s12 = e[1] + e[2]; var d12 = e[1] - e[2]; var s34 = e[3] + e[4]; var d34 = e[3] - e[4];
                        StoreInterleaved4(e[0] + s12 + s34 + bv, d12 + Vector512.Create(2f) * d34 + bv,
                            s12 + Vector512.Create(4f) * s34 + bv, d12 + Vector512.Create(8f) * d34 + e[5] + bv, top + a * w + 4 * t);
                    }
                }
                for (; t < ntx; t++) TransformOutput4Tile(src + t, point, b, top + 4 * t, w);
            }
        }
    }

    // p[4t + j] = o_j[t] for 16 tiles: pairs (o0, o1) and (o2, o3) interleaved as floats, then the pairs as doubles.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreInterleaved4(Vector512<float> o0, Vector512<float> o1, Vector512<float> o2, Vector512<float> o3, float* p)
    {
        var lo01 = Avx512F.PermuteVar16x32x2(o0, Pair0, o1).AsDouble();
        var hi01 = Avx512F.PermuteVar16x32x2(o0, Pair1, o1).AsDouble();
        var lo23 = Avx512F.PermuteVar16x32x2(o2, Pair0, o3).AsDouble();
        var hi23 = Avx512F.PermuteVar16x32x2(o2, Pair1, o3).AsDouble();
        Avx512F.PermuteVar8x64x2(lo01, Quad0, lo23).AsSingle().Store(p);
        Avx512F.PermuteVar8x64x2(lo01, Quad1, lo23).AsSingle().Store(p + 16);
        Avx512F.PermuteVar8x64x2(hi01, Quad0, hi23).AsSingle().Store(p + 32);
        Avx512F.PermuteVar8x64x2(hi01, Quad1, hi23).AsSingle().Store(p + 48);
    }

    // One tile, the same sums in the same order as the vector loop.
    private static void TransformOutput4Tile(float* q, long point, float bias, float* top, long w)
    {
        var rows = stackalloc float[24];
        for (int col = 0; col < 6; col++)
        {
            float m0 = q[col * point], m1 = q[(6 + col) * point], m2 = q[(12 + col) * point];
            float m3 = q[(18 + col) * point], m4 = q[(24 + col) * point], m5 = q[(30 + col) * point];
            float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
            rows[col] = m0 + s12 + s34;
            rows[6 + col] = d12 + 2f * d34;
            rows[12 + col] = s12 + 4f * s34;
            rows[18 + col] = d12 + 8f * d34 + m5;
        }
        for (int a = 0; a < 4; a++)
        {
            float* e = rows + 6 * a;
            float s12 = e[1] + e[2], d12 = e[1] - e[2], s34 = e[3] + e[4], d34 = e[3] - e[4];
            float* o = top + a * w;
            o[0] = e[0] + s12 + s34 + bias;
            o[1] = d12 + 2f * d34 + bias;
            o[2] = s12 + 4f * s34 + bias;
            o[3] = d12 + 8f * d34 + e[5] + bias;
        }
    }
}
