using GanSharp.Kernels;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Tests.Spade;

/// <summary>
/// Winograd F(4x4, 3x3), the forward of a frozen model's 3x3 layers: against libtorch's convolution in float64, on the
/// geometries its blocks and vector loops split differently, and bit-identical however the threads share the blocks.
/// </summary>
[Collection(GemmSwitch.Name)]
public class Winograd4Tests
{
    // (output, output taken outside a frozen scope: F(2x2, 3x3))
    private static (Tensor Frozen, Tensor Plain) Forward(Tensor x, Tensor weight, Tensor? bias)
    {
        using var _ = no_grad();
        var plain = GemmConvolution.Conv2d(x, weight, bias, 1);
        using var memo = new WeightForms();
        using (memo.Use()) return (GemmConvolution.Conv2d(x, weight, bias, 1), plain);
    }

    [Theory]
    [InlineData(1, 32, 40, 64, 64, true)] // 16 tiles per row: the vector loops only
    [InlineData(2, 48, 24, 68, 72, true)] // 18 tiles per row: 16 in the vector loops, 2 one by one
    [InlineData(1, 40, 8, 8, 1040, false)] // 260 tiles per row: blocks of 64 columns and a remainder of 4
    [InlineData(3, 33, 64, 64, 68, true)] // more output than input channels, odd channel counts
    public void FrozenForwardTakesF4x4AndEqualsLibTorchInFloat64(int n, int cin, int cout, int h, int w, bool withBias)
    {
        if (!OneDnnGemm.Available || !OneDnnGemm.Winograd4Available) return; // F(4x4, 3x3) runs on AVX-512 only
        bool before = GemmConvolution.WinogradEnabled;
        GemmConvolution.WinogradEnabled = true;
        try
        {
            manual_seed(12);
            using var x = randn(n, cin, h, w);
            using var weight = randn(cout, cin, 3, 3) * 0.1;
            using var bias = withBias ? randn(cout) : null;
            using var y64 = F.conv2d(x.to(float64), weight.to(float64), bias?.to(float64), padding: new long[] { 1, 1 });
            double scale = Math.Max(1.0, y64.abs().max().item<double>());
            var (frozen, plain) = Forward(x, weight, bias);
            double error4 = (frozen.to(float64) - y64).abs().max().item<double>();
            double error2 = (plain.to(float64) - y64).abs().max().item<double>();
            // Within 2e-5 of the largest output, as F(2x2, 3x3) and the direct products are held to ...
            Assert.True(error4 <= 2e-5 * scale, $"F(4x4, 3x3) differs from float64 by {error4} (scale {scale})");
            // ... and not F(2x2, 3x3)'s values: the frozen forward took the other transforms.
            Assert.False(frozen.eq(plain).all().item<bool>(), $"the frozen forward gave F(2x2, 3x3)'s values (errors {error4}, {error2})");
            frozen.Dispose();
            plain.Dispose();
        }
        finally
        {
            GemmConvolution.WinogradEnabled = before;
        }
    }

    [Fact]
    public void OneThreadOrTwoGiveTheSameBits()
    {
        if (!OneDnnGemm.Available || !OneDnnGemm.Winograd4Available) return; // F(4x4, 3x3) runs on AVX-512 only
        manual_seed(13);
        using var x = randn(2, 32, 64, 72);
        using var weight = randn(16, 32, 3, 3) * 0.1;
        using var bias = randn(16);
        var (two, _) = Forward(x, weight, bias);
        int threads = get_num_threads();
        Tensor one;
        try
        {
            set_num_threads(1);
            (one, _) = Forward(x, weight, bias);
        }
        finally { set_num_threads(threads); }
        Assert.True(two.eq(one).all().item<bool>());
    }
}
