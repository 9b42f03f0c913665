using GanSharp.Runtime;
using static TorchSharp.torch;

namespace GanSharp.Tests.Spade;

/// <summary>
/// Guards NativeSetup.DisableOneDnnConvolutions: with libtorch's oneDNN convolutions the float32 conv input-gradient
/// on the AVX-512 machines here was wrong and varied from call to call with identical inputs.
/// </summary>
public class SpadeConvGradientTests
{
    [Fact]
    public void ConvInputGradientIsDeterministicAndMatchesFloat64()
    {
        Assert.True(NativeSetup.DisableOneDnnConvolutions());
        manual_seed(1);
        using var m = nn.Conv2d(8, 8, 3, padding: 1);
        manual_seed(2);
        using var x0 = randn(2, 8, 16, 16);
        using var w64 = m.weight!.detach().to(float64);
        for (int rep = 0; rep < 8; rep++)
        {
            using var scope = NewDisposeScope();
            var x = x0.clone().requires_grad_();
            var y = m.call(x);
            y.pow(2).sum().backward();
            // d(sum y^2)/dx = conv_transpose(2y, W), computed in float64 as the reference.
            var expected = nn.functional.conv_transpose2d(y.detach().to(float64) * 2, w64, padding: new long[] { 1, 1 });
            double diff = (x.grad!.to(float64) - expected).abs().max().item<double>();
            Assert.True(diff < 1e-4, $"rep {rep}: conv input gradient off by {diff}");
        }
    }
}
