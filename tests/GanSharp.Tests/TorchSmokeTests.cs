using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Tests;

public class TorchSmokeTests
{
    [Fact]
    public void ConvForwardBackwardRunsInTestHost()
    {
        torch.manual_seed(1);
        using var conv = nn.Conv2d(2, 3, 3, padding: 1);
        using var x = ones(1, 2, 4, 4);
        using var y = conv.call(x);
        using var loss = y.sum();
        loss.backward();
        var grad = conv.weight!.grad!;
        Assert.Equal(new long[] { 3, 2, 3, 3 }, grad.shape);
        // d(sum)/dW for the centre tap sees every pixel of the all-ones input: 16 per (out, in) pair.
        Assert.Equal(16f, grad[0, 0, 1, 1].item<float>());
        // Corner taps see only the 3x3 interior that has a neighbour on that side.
        Assert.Equal(9f, grad[0, 0, 0, 0].item<float>());
    }
}
