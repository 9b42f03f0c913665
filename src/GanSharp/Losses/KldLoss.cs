using static TorchSharp.torch;

namespace GanSharp.Losses;

/// <summary>KL divergence of N(mu, exp(logvar)) from N(0, 1), summed (not averaged) as in the reference.</summary>
internal static class KldLoss
{
    public static Tensor Compute(Tensor mu, Tensor logvar)
    {
        using var scope = NewDisposeScope();
        var inner = logvar.add(1).sub_(mu.pow(2)).sub_(logvar.exp());
        return inner.sum().mul_(-0.5).MoveToOuterDisposeScope();
    }
}
