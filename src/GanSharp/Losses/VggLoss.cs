using GanSharp.Models.Spade;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Losses;

/// <summary>
/// SPADE's perceptual loss: sum over the five VGG19 slices of weight_i * L1(vgg(fake)_i, vgg(real)_i.detach()),
/// weights 1/32, 1/16, 1/8, 1/4, 1. Images go in as [-1, 1], without ImageNet normalisation, as in the reference.
/// </summary>
internal static class VggLoss
{
    public static readonly double[] Weights = { 1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0 };

    public static Tensor Compute(Vgg19 vgg, Tensor fake, Tensor real)
    {
        using var scope = NewDisposeScope();
        var xs = vgg.call(fake);
        Tensor[] ys;
        // The real features are targets only: no graph is needed for them.
        using (no_grad()) ys = vgg.call(real);
        Tensor? total = null;
        for (int i = 0; i < xs.Length; i++)
        {
            var term = F.l1_loss(xs[i], ys[i]).mul(Weights[i]);
            total = total is null ? term : total.add(term);
        }
        return total!.MoveToOuterDisposeScope();
    }
}
