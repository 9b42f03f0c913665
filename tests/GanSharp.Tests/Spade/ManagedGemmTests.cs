using GanSharp.Kernels;

namespace GanSharp.Tests.Spade;

/// <summary>
/// GanSharp's own SGEMM against the product computed in double precision, on every kernel the processor runs (the
/// AVX2 kernel is forced on AVX-512 machines too): shapes with edge tiles on both sides, depths across panel
/// boundaries, transposes, leading dimensions wider than the operands, alpha and beta.
/// </summary>
[Collection(GemmSwitch.Name)]
public class ManagedGemmTests
{
    [Theory]
    [InlineData(1, 1, 1, false, false, 1f, 0f)]
    [InlineData(12, 32, 7, false, false, 1f, 0f)] // exactly one AVX-512 tile
    [InlineData(13, 33, 193, false, false, 1f, 0f)] // one past a tile on both sides, one past a depth panel
    [InlineData(37, 53, 41, true, false, 1f, 0f)]
    [InlineData(37, 53, 41, false, true, 1f, 0f)]
    [InlineData(37, 53, 41, true, true, 0.5f, 0.25f)]
    [InlineData(150, 70, 400, false, false, 1f, 1f)] // more rows than one packed block of A, beta 1 accumulates
    [InlineData(5, 2100, 20, false, true, -2f, 0f)] // more columns than one packed panel of B
    [InlineData(64, 70, 400, false, false, 1f, 1f)] // B read in place (5 x 12 + 4 rows), two depth blocks, a packed rest
    [InlineData(8, 40, 30, false, false, 1f, 0f)] // the 8-row in-place kernel
    [InlineData(100, 48, 50, true, false, 1f, 0f)] // short order, packed B, the 4-row kernel (2 rows on AVX2: 16 x 6 + 4)
    [InlineData(2, 16, 9, false, true, 1f, 0.5f)] // the 2-row AVX2 kernel
    [InlineData(400, 33, 500, false, false, 1f, 0f)] // more rows than the short order takes: the general loop's 4-row tiles
    [InlineData(130, 64, 20, false, true, 1f, 0f)] // 10 rows below the last panel: the scratch tile
    public void EqualsTheDoublePrecisionProduct(int m, int n, int k, bool transA, bool transB, float alpha, float beta)
    {
        if (ManagedGemm.Best == ManagedGemm.Isa.None) return; // neither kernel runs here; GemmConvolutionTests pins the fallback
        foreach (var isa in new[] { ManagedGemm.Isa.Avx512, ManagedGemm.Isa.Avx2 }.Where(i => i <= ManagedGemm.Best))
        {
            var saved = ManagedGemm.Active;
            ManagedGemm.Active = isa;
            try
            {
                Check(m, n, k, transA, transB, alpha, beta, isa);
            }
            finally
            {
                ManagedGemm.Active = saved;
            }
        }
    }

    private static unsafe void Check(int m, int n, int k, bool transA, bool transB, float alpha, float beta, ManagedGemm.Isa isa)
    {
        // Leading dimensions 3 wider than the operands: the kernel must use them, not the shapes.
        int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 3, ldc = n + 3;
        var a = new float[(transA ? k : m) * lda];
        var b = new float[(transB ? n : k) * ldb];
        var c = new float[m * ldc];
        for (int i = 0; i < a.Length; i++) a[i] = (float)Math.Sin(i * 0.37);
        for (int i = 0; i < b.Length; i++) b[i] = (float)Math.Cos(i * 0.11);
        for (int i = 0; i < c.Length; i++) c[i] = (float)Math.Sin(i * 0.05 + 1);
        var before = (float[])c.Clone();
        fixed (float* pa = a, pb = b, pc = c)
            ManagedGemm.Gemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        double worst = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (double)a[transA ? p * lda + i : i * lda + p] * b[transB ? j * ldb + p : p * ldb + j];
                double expected = alpha * s + beta * before[i * ldc + j];
                worst = Math.Max(worst, Math.Abs(expected - c[i * ldc + j]) / Math.Max(1, Math.Abs(expected)));
            }
        Assert.True(worst < 2e-6 * Math.Sqrt(k), $"{isa}: {m}x{n}x{k} differs from float64 by {worst:G3} (relative)");
        // Padding between rows of C is not C: it must be left as it was.
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++)
                Assert.Equal(before[i * ldc + j], c[i * ldc + j]);
    }
}
