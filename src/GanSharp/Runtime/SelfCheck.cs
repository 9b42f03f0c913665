using static TorchSharp.torch;

namespace GanSharp.Runtime;

/// <summary>A quick check that libtorch computes: a 3x3 conv forward and backward on a known input.</summary>
public static class SelfCheck
{
    public static bool ConvRoundTrip()
    {
        using var scope = NewDisposeScope();
        using var conv = nn.Conv2d(1, 1, 3, padding: 1, bias: false);
        using (no_grad()) conv.weight!.fill_(1f);
        var x = ones(1, 1, 4, 4);
        var loss = conv.call(x).sum();
        loss.backward();
        // Every output sums its in-image neighbours: 4 corners x4, 8 edges x6, 4 inner x9 = 100.
        return Math.Abs(loss.item<float>() - 100f) < 1e-4f && Math.Abs(conv.weight.grad![0, 0, 1, 1].item<float>() - 16f) < 1e-4f;
    }
}
