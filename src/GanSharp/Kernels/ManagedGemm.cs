using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GanSharp.Kernels;

/// <summary>
/// A single-precision GEMM in C# for machines without Debian's libdnnl2: row-major C = alpha·op(A)·op(B) + beta·C, as
/// <c>dnnl_sgemm</c>. libtorch's own GEMM (MKL) takes its slow path on AMD processors, and no served NuGet package
/// carries a fast CPU SGEMM for .NET, so this one is written here: the BLIS loop structure (B packed in panels of
/// <see cref="Kc"/> rows that stay in cache, A packed in blocks of <see cref="Mc"/> rows, a register-blocked
/// micro-kernel over both) with one micro-kernel per instruction set — 12x32 on AVX-512, 6x16 on AVX2 with FMA.
/// </summary>
internal static unsafe partial class ManagedGemm
{
    /// <summary>The instruction sets the micro-kernels are written for.</summary>
    public enum Isa
    {
        /// <summary>Neither kernel can run: callers take libtorch's path.</summary>
        None,
        Avx2,
        Avx512,
    }

    /// <summary>Environment variable that forces the AVX2 kernel (and Winograd transforms) when set to <c>avx2</c>.</summary>
    public const string IsaVariable = "GANSHARP_GEMM_ISA";

    /// <summary>The best kernel this processor runs.</summary>
    public static Isa Best { get; } = Avx512F.IsSupported ? Isa.Avx512 : Avx2.IsSupported && Fma.IsSupported ? Isa.Avx2 : Isa.None;

    /// <summary>
    /// The kernel in use: <see cref="Best"/>, or AVX2 when <c>GANSHARP_GEMM_ISA=avx2</c> (or a test) asks for it, so that
    /// the AVX2 path can be measured and checked on an AVX-512 machine too.
    /// </summary>
    public static Isa Active { get; set; } =
        string.Equals(Environment.GetEnvironmentVariable(IsaVariable), "avx2", StringComparison.OrdinalIgnoreCase)
        && Best != Isa.None ? Isa.Avx2 : Best;

    // Depth of a packed panel. Measured on Zen 5 (bench gemm, 2 threads) over 128, 192, 256 and 384: 384 was best on
    // SPADE's shapes (its 32-wide B micro-panel, 48 KB, streams from L2 as well as it sits in L1).
    private const long Kc = 384;

    // Rows of A packed at a time (a multiple of both kernels' heights): Mc·Kc floats (~220 KB) stay in L2.
    private const long Mc = 144;

    // Columns of B packed at a time: Kc·Nc floats (3 MB) in L3.
    private const long Nc = 2048;

    // Up to this many rows take the short-product order (A block of MShort·Kc floats, 576 KB, within Zen's 1 MB L2).
    private const long MShort = 384;

    // Up to this many rows the AVX-512 path reads B in place (measured gains at 64 rows; none measurable at 256).
    private const long MDirect = 128;

    private static int Mr => Active == Isa.Avx512 ? 12 : 6;

    private static int Nr => Active == Isa.Avx512 ? 32 : 16;

    /// <summary>Row-major C = alpha·op(A)·op(B) + beta·C on this thread; C is not read when beta is 0.</summary>
    public static void Gemm(bool transA, bool transB, long m, long n, long k, float alpha, float* a, long lda,
        float* b, long ldb, float beta, float* c, long ldc)
    {
        if (Active == Isa.None) throw new PlatformNotSupportedException("GanSharp's GEMM needs AVX2 with FMA or AVX-512.");
        if (m <= 0 || n <= 0) return;
        if (k <= 0)
        {
            Scale(m, n, beta, c, ldc);
            return;
        }
        var buffers = Buffers.ForThisThread();
        int mr = Mr, nr = Nr;
        if (m <= MShort)
        {
            ShortGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, buffers);
            return;
        }
        for (long j0 = 0; j0 < n; j0 += Nc)
        {
            long nc = Math.Min(Nc, n - j0);
            for (long p0 = 0; p0 < k; p0 += Kc)
            {
                long kc = Math.Min(Kc, k - p0);
                PackB(transB, b, ldb, p0, kc, j0, nc, nr, buffers.B);
                // Later depth blocks add to what the first wrote.
                float blockBeta = p0 == 0 ? beta : 1f;
                for (long i0 = 0; i0 < m; i0 += Mc)
                {
                    long mc = Math.Min(Mc, m - i0);
                    PackA(transA, a, lda, i0, mc, p0, kc, mr, buffers.A);
                    Block(mc, nc, kc, alpha, blockBeta, buffers, c + i0 * ldc + j0, ldc);
                }
            }
        }
    }

    // Few rows: all of op(A)'s rows at one depth block stay packed in L2 and each B micro-panel is packed just before
    // its use, into L1. The general loop writes every packed B block to a 3 MB buffer and reads it back from L3, which
    // costs more than the arithmetic when few rows share it; this order also packs A once per depth block, not once per
    // column block.
    private static void ShortGemm(bool transA, bool transB, long m, long n, long k, float alpha, float* a, long lda,
        float* b, long ldb, float beta, float* c, long ldc, Buffers buffers)
    {
        int mr = Mr, nr = Nr;
        for (long p0 = 0; p0 < k; p0 += Kc)
        {
            long kc = Math.Min(Kc, k - p0);
            float blockBeta = p0 == 0 ? beta : 1f;
            PackA(transA, a, lda, 0, m, p0, kc, mr, buffers.A);
            long direct = 0;
            if (!transB)
                direct = DirectColumns(m, n, kc, alpha, blockBeta, buffers.A, b + p0 * ldb, ldb, c, ldc);
            for (long j0 = direct; j0 < n; j0 += nr)
            {
                long nw = Math.Min(nr, n - j0);
                PackB(transB, b, ldb, p0, kc, j0, nw, nr, buffers.B);
                Block(m, nw, kc, alpha, blockBeta, buffers, c + j0, ldc);
            }
        }
    }

    // Few rows on AVX-512: B is read where it lies, row after row of one 32-column strip, and not packed at all.
    // Packing would copy every element of B once for only m/12 kernel calls that use it (bench gemm, 64x16384x576:
    // 0.73 of oneDNN's rate instead of 0.60). On AVX2 the strip is one cache line per row and reading it in place
    // halved the rate, so AVX2 always packs. Returns the columns done (whole strips); row counts that are not a
    // multiple of 4 leave everything to the packed path.
    private static long DirectColumns(long m, long n, long kc, float alpha, float beta, float* ap, float* b, long ldb,
        float* c, long ldc)
    {
        if (Active != Isa.Avx512 || m > MDirect || m % 4 != 0) return 0;
        long strips = n / 32 * 32;
        for (long j0 = 0; j0 < strips; j0 += 32)
        {
            for (long ir = 0; ir < m; ir += 12)
            {
                float* a = ap + ir * kc, bj = b + j0, tile = c + ir * ldc + j0;
                switch (Math.Min(12, m - ir))
                {
                    case 12: Kernel512Direct(kc, a, bj, ldb, tile, ldc, alpha, beta); break;
                    case 8: Kernel512DirectRows8(kc, a, bj, ldb, tile, ldc, alpha, beta); break;
                    default: Kernel512DirectRows4(kc, a, bj, ldb, tile, ldc, alpha, beta); break;
                }
            }
        }
        return strips;
    }

    // Every micro-tile of one packed A block against one packed B panel.
    private static void Block(long mc, long nc, long kc, float alpha, float beta, Buffers buffers, float* c, long ldc)
    {
        int mr = Mr, nr = Nr;
        for (long jr = 0; jr < nc; jr += nr)
        {
            float* bp = buffers.B + jr * kc;
            long nw = Math.Min(nr, nc - jr);
            for (long ir = 0; ir < mc; ir += mr)
            {
                float* ap = buffers.A + ir * kc;
                long mh = Math.Min(mr, mc - ir);
                float* tile = c + ir * ldc + jr;
                if (mh == mr && nw == nr)
                {
                    Kernel(kc, ap, bp, tile, ldc, alpha, beta);
                    continue;
                }
                // SPADE's channel counts (64, 128, 256, ...) leave 4 or 8 rows below the last full 12-row panel (2 or 4
                // below 6 rows on AVX2): a shorter kernel writes those straight to C instead of computing zero rows.
                if (nw == nr && ShortKernel(mh, kc, ap, bp, tile, ldc, alpha, beta)) continue;
                // An edge tile: the kernel writes a full tile into scratch, the valid part is merged into C.
                Kernel(kc, ap, bp, buffers.Edge, nr, 1f, 0f);
                for (long i = 0; i < mh; i++)
                    for (long j = 0; j < nw; j++)
                    {
                        float v = alpha * buffers.Edge[i * nr + j];
                        tile[i * ldc + j] = beta == 0f ? v : v + beta * tile[i * ldc + j];
                    }
            }
        }
    }

    private static bool ShortKernel(long rows, long kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        switch (Active, rows)
        {
            case (Isa.Avx512, 8): Kernel512Rows8(kc, a, b, c, ldc, alpha, beta); return true;
            case (Isa.Avx512, 4): Kernel512Rows4(kc, a, b, c, ldc, alpha, beta); return true;
            case (Isa.Avx2, 4): Kernel256Rows4(kc, a, b, c, ldc, alpha, beta); return true;
            case (Isa.Avx2, 2): Kernel256Rows2(kc, a, b, c, ldc, alpha, beta); return true;
            default: return false;
        }
    }

    private static void Kernel(long kc, float* a, float* b, float* c, long ldc, float alpha, float beta)
    {
        if (Active == Isa.Avx512) Kernel512(kc, a, b, c, ldc, alpha, beta);
        else Kernel256(kc, a, b, c, ldc, alpha, beta);
    }

    // op(B)[p0.., j0..] as micro-panels of nr columns: panel q holds rows p of columns q·nr .. q·nr+nr-1 side by side,
    // zero beyond the last column. Both layouts are read along their contiguous direction.
    private static void PackB(bool trans, float* b, long ldb, long p0, long kc, long j0, long nc, int nr, float* dst)
    {
        for (long jr = 0; jr < nc; jr += nr)
        {
            long nw = Math.Min(nr, nc - jr);
            float* panel = dst + jr * kc;
            if (!trans)
            {
                for (long p = 0; p < kc; p++)
                {
                    float* row = panel + p * nr;
                    new ReadOnlySpan<float>(b + (p0 + p) * ldb + j0 + jr, (int)nw).CopyTo(new Span<float>(row, (int)nw));
                    for (long j = nw; j < nr; j++) row[j] = 0f;
                }
                continue;
            }
            // Full panels by 8x8 register transposes (weight gradients pack B^T: 128 x 65,536 per tap at crop 256).
            long done = 0;
            if (nw == nr)
                for (; done + 8 <= kc; done += 8)
                    for (long jb = 0; jb < nr; jb += 8)
                        Transpose8(b + (j0 + jr + jb) * ldb + p0 + done, ldb, 8, panel + done * nr + jb, nr, 8);
            for (long j = 0; j < nw; j++)
            {
                float* col = b + (j0 + jr + j) * ldb + p0;
                for (long p = done; p < kc; p++) panel[p * nr + j] = col[p];
            }
            for (long p = 0; p < kc && nw < nr; p++)
                for (long j = nw; j < nr; j++) panel[p * nr + j] = 0f;
        }
    }

    // op(A)[i0.., p0..] as micro-panels of mr rows: panel r holds, for every p, the mr values of column p; zero rows
    // beyond the last. Both layouts are read along their contiguous direction.
    private static void PackA(bool trans, float* a, long lda, long i0, long mc, long p0, long kc, int mr, float* dst)
    {
        for (long ir = 0; ir < mc; ir += mr)
        {
            long mh = Math.Min(mr, mc - ir);
            float* panel = dst + ir * kc;
            if (trans)
            {
                for (long p = 0; p < kc; p++)
                {
                    float* src = a + (p0 + p) * lda + i0 + ir;
                    float* slot = panel + p * mr;
                    new ReadOnlySpan<float>(src, (int)mh).CopyTo(new Span<float>(slot, (int)mh));
                    for (long i = mh; i < mr; i++) slot[i] = 0f;
                }
                continue;
            }
            long done = mh == mr ? PackRows(a + (i0 + ir) * lda + p0, lda, kc, mr, panel) : 0;
            for (long i = 0; i < mh; i++)
            {
                float* row = a + (i0 + ir + i) * lda + p0;
                for (long p = done; p < kc; p++) panel[p * mr + i] = row[p];
            }
            for (long i = mh; i < mr; i++)
                for (long p = 0; p < kc; p++) panel[p * mr + i] = 0f;
        }
    }

    // A full panel of row-major A, 8 depths at a time, by 8x8 transposes in registers: the scalar copy it replaces moved
    // one float per instruction and took about a tenth of an inference with frozen weights. 12 rows are 8 + 4, 6 rows
    // are 6 of 8 (the missing rows read as zeros and are not stored). Returns the depths done (a multiple of 8).
    private static long PackRows(float* a, long lda, long kc, int mr, float* panel)
    {
        long p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            if (mr == 12)
            {
                Transpose8(a + p, lda, 8, panel + p * 12, 12, 8);
                Transpose8(a + 8 * lda + p, lda, 4, panel + p * 12 + 8, 12, 4);
            }
            else
            {
                Transpose8(a + p, lda, mr, panel + p * mr, mr, mr);
            }
        }
        return p;
    }

    // dst[q·ldd + i] = src[i·lds + q] for q < 8 and i < width, from the first rows rows of src (the rest read as 0).
    private static void Transpose8(float* src, long lds, int rows, float* dst, int ldd, int width)
    {
        var z = Vector256<float>.Zero;
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + 2 * lds);
        var r3 = Avx.LoadVector256(src + 3 * lds);
        var r4 = rows > 4 ? Avx.LoadVector256(src + 4 * lds) : z;
        var r5 = rows > 5 ? Avx.LoadVector256(src + 5 * lds) : z;
        var r6 = rows > 6 ? Avx.LoadVector256(src + 6 * lds) : z;
        var r7 = rows > 7 ? Avx.LoadVector256(src + 7 * lds) : z;
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Store(dst, width, Avx.Permute2x128(u0, u4, 0x20));
        Store(dst + ldd, width, Avx.Permute2x128(u1, u5, 0x20));
        Store(dst + 2 * ldd, width, Avx.Permute2x128(u2, u6, 0x20));
        Store(dst + 3 * ldd, width, Avx.Permute2x128(u3, u7, 0x20));
        Store(dst + 4 * ldd, width, Avx.Permute2x128(u0, u4, 0x31));
        Store(dst + 5 * ldd, width, Avx.Permute2x128(u1, u5, 0x31));
        Store(dst + 6 * ldd, width, Avx.Permute2x128(u2, u6, 0x31));
        Store(dst + 7 * ldd, width, Avx.Permute2x128(u3, u7, 0x31));
    }

    private static void Store(float* dst, int width, Vector256<float> v)
    {
        if (width == 8)
        {
            Avx.Store(dst, v);
            return;
        }
        Sse.Store(dst, v.GetLower());
        if (width == 6)
        {
            var upper = v.GetUpper();
            dst[4] = upper.ToScalar();
            dst[5] = upper.GetElement(1);
        }
    }

    private static void Scale(long m, long n, float beta, float* c, long ldc)
    {
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0f ? 0f : beta * c[i * ldc + j];
    }

    // Packing space of one thread, kept for the thread's life: the GEMMs of a training step reuse it thousands of times.
    private sealed class Buffers
    {
        [ThreadStatic]
        private static Buffers? _mine;

        public readonly float* A = Alloc(Math.Max(Mc, MShort) * Kc);
        public readonly float* B = Alloc(Kc * (Nc + 32));
        public readonly float* Edge = Alloc(12 * 32);

        public static Buffers ForThisThread() => _mine ??= new Buffers();

        private static float* Alloc(long floats) => (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);

        ~Buffers()
        {
            NativeMemory.AlignedFree(A);
            NativeMemory.AlignedFree(B);
            NativeMemory.AlignedFree(Edge);
        }
    }
}
