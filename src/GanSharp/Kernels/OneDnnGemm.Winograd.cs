using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GanSharp.Kernels;

/// <summary>
/// Winograd F(2x2, 3x3) for stride-1 3x3 convolutions with padding 1 on even-sized inputs: every 4x4 input tile
/// (stride 2) is transformed (Bᵀ d B), the 16 transform points are multiplied by the transformed kernels (G g Gᵀ) in
/// 16 GEMMs of inner dimension Cin, and every 4x4 product is transformed back to a 2x2 output tile (Aᵀ m A). That is
/// 16 multiplications per 4 outputs where the direct convolution needs 36: 2.25x fewer FLOPs. libtorch's CPU
/// convolutions have no Winograd path and oneDNN's needs its own convolution primitives (which libtorch's build gets
/// wrong on these machines, see <see cref="Runtime.NativeSetup.DisableOneDnnConvolutions"/>), so the transforms are ours.
/// </summary>
/// <remarks>
/// The work goes in blocks of tiles (≈ 128), handed to the OpenMP threads one at a time: a thread transforms its block
/// into scratch, runs the 16 products on it and transforms the results into the output while all of it is still in
/// cache. The transforms are vectorised across 16 tiles (AVX-512: one permute splits a row into the tiles' even and
/// odd columns); elsewhere the same code runs on .NET's portable vectors, correct but slower. Each block is summed by
/// one thread in a fixed order, so results do not depend on which thread took it (exact resume relies on this).
/// Rounding: the transforms add and subtract up to 9 values per point, so the error is ~2-3x the direct
/// convolution's; in float32 it stays around 1e-6 relative.
/// </remarks>
internal static unsafe partial class OneDnnGemm
{
    /// <summary>Transform points per tile of F(2x2, 3x3).</summary>
    public const int WinogradPoints = 16;

    // Tiles per block: the block's transformed input and products (16·(Cin+Cout)·128 floats, 1 MB at 128 channels
    // each way) stay in the core's cache between the three steps. 128→64 channels at 256², forward + input gradient,
    // time of both threads summed: 64 tiles 67 ms, 128 tiles 61-64 ms, 256 tiles 65-69 ms.
    private const long WinogradBlockTiles = 128;

    /// <summary>Whether the transforms run in vector registers here (AVX-512, or AVX2 in 256-bit halves).</summary>
    public static bool WinogradAccelerated => Avx512F.IsSupported || Avx2.IsSupported;

    // The transforms follow the GEMM's kernel choice, so that forcing AVX2 (GANSHARP_GEMM_ISA=avx2, or a test) checks
    // and measures the AVX2 transforms on an AVX-512 machine too.
    private static bool WideTransforms => Avx512F.IsSupported && ManagedGemm.Active != ManagedGemm.Isa.Avx2;

    private readonly record struct WinogradPlan(long TileRows, long TileCols, long RowsPerBlock, long ColsPerBlock, long Blocks, int Threads)
    {
        public long BlockTiles => RowsPerBlock * ColsPerBlock;

        // One thread's scratch: the block's transformed input and products, and the staged plane rows.
        public long PerThread(long m, long k) => WinogradPoints * (m + k) * BlockTiles + StageLength(RowsPerBlock, ColsPerBlock);
    }

    // A block's 4x4 tiles (stride 2) of one input plane, zero-padded, copied into cache: 2·rows+2 rows of 2·cols+2
    // floats (rounded up to whole cache lines). The layers' inputs are read where they lie, so no padded copy of a whole
    // activation is made (at crop 256 that copy was ~3 % of an iteration, and a transient buffer of its size).
    private static long StageWidth(long colsPerBlock) => (2 * colsPerBlock + 2 + 15) & ~15L;

    private static long StageLength(long rowsPerBlock, long colsPerBlock) => (2 * rowsPerBlock + 2) * StageWidth(colsPerBlock);

    private static WinogradPlan PlanWinograd(long samples, long h, long w)
    {
        long th = h / 2, tw = w / 2;
        long cols = tw <= WinogradBlockTiles ? tw : WinogradBlockTiles;
        long rows = Math.Clamp(WinogradBlockTiles / cols, 1, th);
        long blocks = samples * ((th + rows - 1) / rows) * ((tw + cols - 1) / cols);
        int threads = OmpMaxThreads();
        while (threads > 1 && blocks < 2 * threads) threads--;
        return new WinogradPlan(th, tw, rows, cols, blocks, threads);
    }

    /// <summary>Floats of scratch that <see cref="Winograd3x3"/> needs for m output and k input channels.</summary>
    public static long WinogradScratchLength(long samples, long m, long k, long h, long w)
    {
        var plan = PlanWinograd(samples, h, w);
        return plan.Threads * plan.PerThread(m, k);
    }

    /// <summary>
    /// output[s] ([m, h, w], contiguous) = the 3x3 "same" convolution of input[s] with the kernels whose transforms
    /// <paramref name="u"/> holds (+ bias[i]). input[s] = <paramref name="input"/> + s·<paramref name="sampleStride"/>
    /// holds k planes of the h×w input (the zero padding of one on every side is implied): plane stride
    /// <paramref name="planeStride"/>, rows of <paramref name="rowWidth"/> ≥ w floats. Point ξ's [m, k] matrix is
    /// op(<paramref name="u"/> + uOffsets[ξ]) with leading dimension <paramref name="ldu"/> (op = transpose when
    /// <paramref name="transU"/>). h and w must be even.
    /// </summary>
    public static void Winograd3x3(long samples, long m, long k, long h, long w, float* input, long sampleStride,
        long planeStride, long rowWidth, float* u, long* uOffsets, long ldu, bool transU, float* bias, float* output, float* scratch)
    {
        CheckWinogradGeometry(h, w, planeStride, rowWidth);
        var plan = PlanWinograd(samples, h, w);
        var job = new WinogradJob
        {
            M = m, K = k, H = h, W = w, Input = input, SampleStride = sampleStride, PlaneStride = planeStride,
            RowWidth = rowWidth, U = u, UOffsets = uOffsets, Ldu = ldu, TransU = transU ? (sbyte)'T' : (sbyte)'N',
            Bias = bias, Output = output, Scratch = scratch, TileRows = plan.TileRows, TileCols = plan.TileCols,
            RowsPerBlock = plan.RowsPerBlock, ColsPerBlock = plan.ColsPerBlock, Blocks = plan.Blocks, Threads = plan.Threads,
            PerThread = plan.PerThread(m, k),
        };
        InParallel(&WinogradBody, &job, plan.Threads);
        ThrowIfFailed(job.Failed, m, plan.BlockTiles, k);
    }

    private static void CheckWinogradGeometry(long h, long w, long planeStride, long rowWidth)
    {
        if (h % 2 != 0 || w % 2 != 0 || h < 2 || w < 2)
            throw new ArgumentException($"Winograd F(2x2, 3x3) needs an even-sized input, not {h}x{w}.");
        if (rowWidth < w || planeStride < h * rowWidth)
            throw new ArgumentException($"A {h}x{w} input needs rows of ≥ {w} and planes of ≥ {h * rowWidth} floats.");
    }

    private struct WinogradJob
    {
        public long M, K, H, W, SampleStride, PlaneStride, RowWidth, Ldu, TileRows, TileCols, RowsPerBlock, ColsPerBlock, Blocks, Next, PerThread;
        public float* Input, U, Bias, Output, Scratch;
        public long* UOffsets;
        public sbyte TransU;
        public int Threads, Failed;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void WinogradBody(void* data)
    {
        var job = (WinogradJob*)data;
        int id = OmpThreadNum();
        if (id < job->Threads) RunWinograd(job, id);
    }

    // Block b's sample and tile rectangle: tile rows [ty0, ty0+nty), tile columns [tx0, tx0+ntx).
    private static (long Sample, long Ty0, long Nty, long Tx0, long Ntx) TileBlock(WinogradJob* job, long b)
    {
        long rowBlocks = (job->TileRows + job->RowsPerBlock - 1) / job->RowsPerBlock;
        long colBlocks = (job->TileCols + job->ColsPerBlock - 1) / job->ColsPerBlock;
        long rb = b / colBlocks % rowBlocks, cb = b % colBlocks;
        long ty0 = rb * job->RowsPerBlock, tx0 = cb * job->ColsPerBlock;
        return (b / (rowBlocks * colBlocks), ty0, Math.Min(job->RowsPerBlock, job->TileRows - ty0), tx0,
            Math.Min(job->ColsPerBlock, job->TileCols - tx0));
    }

    private static void RunWinograd(WinogradJob* job, int id)
    {
        long tb = job->RowsPerBlock * job->ColsPerBlock;
        float* v = job->Scratch + id * job->PerThread;
        float* products = v + WinogradPoints * job->K * tb;
        float* stage = products + WinogradPoints * job->M * tb;
        for (long b = Interlocked.Increment(ref job->Next) - 1; b < job->Blocks; b = Interlocked.Increment(ref job->Next) - 1)
        {
            var (s, ty0, nty, tx0, ntx) = TileBlock(job, b);
            long n = nty * ntx;
            var tiles = new TileSource(job->Input + s * job->SampleStride, job->PlaneStride, job->RowWidth, job->H, job->W, stage);
            if (WideTransforms) TransformInput<Avx512Width>(tiles, job->K, ty0, nty, tx0, ntx, v, n);
            else TransformInput<Avx2Width>(tiles, job->K, ty0, nty, tx0, ntx, v, n);
            for (int xi = 0; xi < WinogradPoints; xi++)
            {
                int status = Sgemm(job->TransU, (sbyte)'N', job->M, n, job->K, 1f, job->U + job->UOffsets[xi], job->Ldu,
                    v + xi * job->K * n, n, 0f, products + xi * job->M * n, n);
                if (status != 0) job->Failed = status;
            }
            float* output = job->Output + s * job->M * job->H * job->W;
            if (WideTransforms) TransformOutput<Avx512Width>(products, job->M, n, job->Bias, output, job->H, job->W, ty0, nty, tx0, ntx);
            else TransformOutput<Avx2Width>(products, job->M, n, job->Bias, output, job->H, job->W, ty0, nty, tx0, ntx);
        }
    }

    private static readonly Vector512<int> EvenLanes = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> OddLanes = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    private static readonly Vector512<int> LowInterleave = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> HighInterleave = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);

    // 16 lanes from p[0], p[2], ..., p[30] (odd: p[1], ..., p[31]).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Lanes<TW>(float* p, bool odd) where TW : struct, IVectorWidth
    {
        if (TW.Avx512)
            return Avx512F.PermuteVar16x32x2(Vector512.Load(p), odd ? OddLanes : EvenLanes, Vector512.Load(p + 16));
        return Vector512.Create(Lanes8(p, odd), Lanes8(p + 16, odd));
    }

    // AVX2: 8 lanes from p[0], p[2], ..., p[14] (odd: p[1], ..., p[15]). The shuffle picks within 128-bit halves
    // (0 2 8 10 | 4 6 12 14), the permute puts the 64-bit pairs in order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lanes8(float* p, bool odd)
    {
        var x0 = Vector256.Load(p);
        var x1 = Vector256.Load(p + 8);
        var picked = odd ? Avx.Shuffle(x0, x1, 0xDD) : Avx.Shuffle(x0, x1, 0x88);
        return Avx2.Permute4x64(picked.AsDouble(), 0xD8).AsSingle();
    }

    // Stores a0, b0, a1, b1, ..., a15, b15 at p[0..32).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreInterleaved<TW>(Vector512<float> a, Vector512<float> b, float* p) where TW : struct, IVectorWidth
    {
        if (TW.Avx512)
        {
            Avx512F.PermuteVar16x32x2(a, LowInterleave, b).Store(p);
            Avx512F.PermuteVar16x32x2(a, HighInterleave, b).Store(p + 16);
            return;
        }
        StoreInterleaved8(a.GetLower(), b.GetLower(), p);
        StoreInterleaved8(a.GetUpper(), b.GetUpper(), p + 16);
    }

    // AVX2: a0, b0, ..., a7, b7 at p[0..16). The unpacks interleave within 128-bit halves, the permutes join the halves.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreInterleaved8(Vector256<float> a, Vector256<float> b, float* p)
    {
        var low = Avx.UnpackLow(a, b);
        var high = Avx.UnpackHigh(a, b);
        Avx.Permute2x128(low, high, 0x20).Store(p);
        Avx.Permute2x128(low, high, 0x31).Store(p + 8);
    }

    /// <summary>Planes of an unpadded input and a thread's buffer to stage a block's padded rows in.</summary>
    private readonly struct TileSource(float* x, long planeStride, long rowWidth, long h, long w, float* stage)
    {
        // Rows 2·ty0-1 .. 2·(ty0+nty) and columns 2·tx0-1 .. 2·(tx0+ntx) of plane c (zero outside the plane) at
        // stage[row, column], rows of StageWidth(ntx) floats.
        public float* Stage(long c, long ty0, long nty, long tx0, long ntx, out long stride)
        {
            stride = StageWidth(ntx);
            CopyPadded(x + c * planeStride, rowWidth, h, w, 2 * ty0 - 1, 2 * nty + 2, 2 * tx0 - 1, 2 * ntx + 2, stage, stride);
            return stage;
        }
    }

    // dst[r, i] = plane[y0 + r, x0 + i] for r < rows, i < count (rows of dstWidth floats), zero outside the h×w plane:
    // a block of tiles with its padding, staged in cache for the Winograd transforms.
    private static void CopyPadded(float* plane, long rowWidth, long h, long w, long y0, long rows, long x0, long count, float* dst,
        long dstWidth)
    {
        long first = Math.Max(0, -x0), last = Math.Min(count, w - x0);
        for (long r = 0; r < rows; r++, dst += dstWidth)
        {
            long y = y0 + r;
            if (y < 0 || y >= h)
            {
                new Span<float>(dst, (int)count).Clear();
                continue;
            }
            float* src = plane + y * rowWidth + x0;
            for (long i = 0; i < first; i++) dst[i] = 0f;
            Buffer.MemoryCopy(src + first, dst + first, (last - first) * sizeof(float), (last - first) * sizeof(float));
            for (long i = last; i < count; i++) dst[i] = 0f;
        }
    }

    // v[ξ, c, r·ntx + t] = (Bᵀ d B)[ξ] of the 4x4 tile at padded rows 2(ty0+r).., columns 2(tx0+t).. of plane c.
    private static void TransformInput<TW>(TileSource source, long k, long ty0, long nty, long tx0, long ntx, float* v, long n)
        where TW : struct, IVectorWidth
    {
        long point = k * n;
        for (long c = 0; c < k; c++)
        {
            float* staged = source.Stage(c, ty0, nty, tx0, ntx, out long rowWidth);
            for (long r = 0; r < nty; r++)
            {
                float* tileRow = staged + 2 * r * rowWidth;
                float* dst = v + c * n + r * ntx;
                long t = 0;
                for (; t + 16 <= ntx; t += 16)
                {
                    float* p = tileRow + 2 * t;
                    // Bᵀ along each of the 4 rows (h), then along the columns (Bᵀ d B).
                    var h0 = RowTransform<TW>(p, out var h1, out var h2, out var h3);
                    var g0 = RowTransform<TW>(p + rowWidth, out var g1, out var g2, out var g3);
                    var f0 = RowTransform<TW>(p + 2 * rowWidth, out var f1, out var f2, out var f3);
                    var e0 = RowTransform<TW>(p + 3 * rowWidth, out var e1, out var e2, out var e3);
                    float* q = dst + t;
                    Store4(q, point, h0 - f0, h1 - f1, h2 - f2, h3 - f3);
                    Store4(q + 4 * point, point, g0 + f0, g1 + f1, g2 + f2, g3 + f3);
                    Store4(q + 8 * point, point, f0 - g0, f1 - g1, f2 - g2, f3 - g3);
                    Store4(q + 12 * point, point, g0 - e0, g1 - e1, g2 - e2, g3 - e3);
                }
                for (; t < ntx; t++) TransformInputTile(tileRow + 2 * t, rowWidth, dst + t, point);
            }
        }
    }

    // p[0], p[point], p[2·point], p[3·point] = a, b, c, d: four transform points of 16 tiles.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(float* p, long point, Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        a.Store(p);
        b.Store(p + point);
        c.Store(p + 2 * point);
        d.Store(p + 3 * point);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> RowTransform<TW>(float* p, out Vector512<float> r1, out Vector512<float> r2, out Vector512<float> r3)
        where TW : struct, IVectorWidth
    {
        var d0 = Lanes<TW>(p, false);
        var d1 = Lanes<TW>(p, true);
        var d2 = Lanes<TW>(p + 2, false);
        var d3 = Lanes<TW>(p + 2, true);
        r1 = d1 + d2;
        r2 = d2 - d1;
        r3 = d1 - d3;
        return d0 - d2;
    }

    // The same sums as the vector loop, in the same order, for one tile.
    private static void TransformInputTile(float* p, long rowWidth, float* q, long point)
    {
        var hRows = stackalloc float[16];
        for (int i = 0; i < 4; i++)
        {
            float* d = p + i * rowWidth;
            hRows[4 * i] = d[0] - d[2];
            hRows[4 * i + 1] = d[1] + d[2];
            hRows[4 * i + 2] = d[2] - d[1];
            hRows[4 * i + 3] = d[1] - d[3];
        }
        for (int j = 0; j < 4; j++)
        {
            float a = hRows[j], b = hRows[4 + j], c = hRows[8 + j], e = hRows[12 + j];
            q[j * point] = a - c;
            q[(4 + j) * point] = b + c;
            q[(8 + j) * point] = c - b;
            q[(12 + j) * point] = b - e;
        }
    }

    // output[i, 2(ty0+r)+a, 2(tx0+t)+b] = (Aᵀ m A)[a, b] of products[·, i, r·ntx + t] (+ bias[i]).
    private static void TransformOutput<TW>(float* products, long m, long n, float* bias, float* output, long h, long w,
        long ty0, long nty, long tx0, long ntx) where TW : struct, IVectorWidth
    {
        long point = m * n;
        for (long i = 0; i < m; i++)
        {
            float b = bias is null ? 0f : bias[i];
            var bv = Vector512.Create(b);
            for (long r = 0; r < nty; r++)
            {
                float* src = products + i * n + r * ntx;
                float* top = output + i * h * w + 2 * (ty0 + r) * w + 2 * tx0;
                float* bottom = top + w;
                long t = 0;
                for (; t + 16 <= ntx; t += 16)
                {
                    float* q = src + t;
                    // Aᵀ along the columns (rows 0-3 of the tile into 2), then along the rows.
                    var s00 = Vector512.Load(q) + Vector512.Load(q + 4 * point) + Vector512.Load(q + 8 * point);
                    var s01 = Vector512.Load(q + point) + Vector512.Load(q + 5 * point) + Vector512.Load(q + 9 * point);
                    var s02 = Vector512.Load(q + 2 * point) + Vector512.Load(q + 6 * point) + Vector512.Load(q + 10 * point);
                    var s03 = Vector512.Load(q + 3 * point) + Vector512.Load(q + 7 * point) + Vector512.Load(q + 11 * point);
                    var s10 = Vector512.Load(q + 4 * point) - Vector512.Load(q + 8 * point) - Vector512.Load(q + 12 * point);
                    var s11 = Vector512.Load(q + 5 * point) - Vector512.Load(q + 9 * point) - Vector512.Load(q + 13 * point);
                    var s12 = Vector512.Load(q + 6 * point) - Vector512.Load(q + 10 * point) - Vector512.Load(q + 14 * point);
                    var s13 = Vector512.Load(q + 7 * point) - Vector512.Load(q + 11 * point) - Vector512.Load(q + 15 * point);
                    StoreInterleaved<TW>(s00 + s01 + s02 + bv, s01 - s02 - s03 + bv, top + 2 * t);
                    StoreInterleaved<TW>(s10 + s11 + s12 + bv, s11 - s12 - s13 + bv, bottom + 2 * t);
                }
                for (; t < ntx; t++) TransformOutputTile(src + t, point, b, top + 2 * t, w);
            }
        }
    }

    private static void TransformOutputTile(float* q, long point, float bias, float* top, long w)
    {
        var s = stackalloc float[8];
        for (int j = 0; j < 4; j++)
        {
            s[j] = q[j * point] + q[(4 + j) * point] + q[(8 + j) * point];
            s[4 + j] = q[(4 + j) * point] - q[(8 + j) * point] - q[(12 + j) * point];
        }
        top[0] = s[0] + s[1] + s[2] + bias;
        top[1] = s[1] - s[2] - s[3] + bias;
        top[w] = s[4] + s[5] + s[6] + bias;
        top[w + 1] = s[5] - s[6] - s[7] + bias;
    }
}

/// <summary>Which vector code the Winograd transforms compile to; a struct argument, so the JIT drops the other branch.</summary>
internal interface IVectorWidth
{
    static abstract bool Avx512 { get; }
}

internal readonly struct Avx512Width : IVectorWidth
{
    public static bool Avx512 => Avx512F.IsSupported;
}

internal readonly struct Avx2Width : IVectorWidth
{
    public static bool Avx512 => false;
}
