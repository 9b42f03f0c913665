using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Losses;

/// <summary>The adversarial objectives of the families (one logits tensor at a time, so multiscale losses reuse them).</summary>
public enum AdversarialLoss
{
    /// <summary>Goodfellow's GAN with the non-saturating generator loss −log D(G(z)) (ganhacks §2).</summary>
    Original,
    /// <summary>Goodfellow's GAN with the saturating minimax generator loss log(1 − D(G(z))).</summary>
    Saturating,
    /// <summary>Least squares (LSGAN): MSE of D's output to the targets (seed 004: BCE vs MSE).</summary>
    Ls,
    /// <summary>Wasserstein critic: D maximises E[D(real)] − E[D(fake)].</summary>
    W,
    /// <summary>Hinge: D minimises E[relu(1 − D(real))] + E[relu(1 + D(fake))]; G minimises −E[D(fake)].</summary>
    Hinge,
}

/// <summary>
/// D and G losses on a single tensor of D outputs (logits, not probabilities). Targets let a recipe apply soft and
/// noisy labels: for <see cref="AdversarialLoss.Original"/>/<see cref="AdversarialLoss.Saturating"/>/<see cref="AdversarialLoss.Ls"/>
/// a target is the value D is pulled to; for <see cref="AdversarialLoss.W"/>/<see cref="AdversarialLoss.Hinge"/>,
/// which have no target values, a target t becomes the sign 2t − 1 of the sample's term, so a flipped label
/// (t = 0 on a real sample) reverses its push and a soft 0.9 weakens it to 0.8.
/// </summary>
public static class Adversarial
{
    /// <summary>D's loss on outputs for real samples; <paramref name="target"/> defaults to 1 everywhere.</summary>
    public static Tensor DReal(Tensor logits, AdversarialLoss kind, Tensor? target = null) =>
        DTerm(logits, kind, target, real: true);

    /// <summary>D's loss on outputs for generated samples; <paramref name="target"/> defaults to 0 everywhere.</summary>
    public static Tensor DFake(Tensor logits, AdversarialLoss kind, Tensor? target = null) =>
        DTerm(logits, kind, target, real: false);

    /// <summary>G's loss on D's outputs for generated samples.</summary>
    public static Tensor G(Tensor logits, AdversarialLoss kind) => kind switch
    {
        AdversarialLoss.Original => nn.functional.binary_cross_entropy_with_logits(logits, ones_like(logits)),
        // log(1 − sigmoid(x)) = −softplus(x): minimising it is the minimax game, whose gradient vanishes when D wins.
        AdversarialLoss.Saturating => nn.functional.softplus(logits).neg().mean(),
        AdversarialLoss.Ls => (logits - 1).pow(2).mean(),
        AdversarialLoss.W or AdversarialLoss.Hinge => logits.mean().neg(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown adversarial loss"),
    };

    private static Tensor DTerm(Tensor logits, AdversarialLoss kind, Tensor? target, bool real)
    {
        using var scope = NewDisposeScope();
        var t = target ?? (real ? ones_like(logits) : zeros_like(logits));
        Tensor loss = kind switch
        {
            AdversarialLoss.Original or AdversarialLoss.Saturating => nn.functional.binary_cross_entropy_with_logits(logits, t),
            AdversarialLoss.Ls => (logits - t).pow(2).mean(),
            // Sign s = 2t − 1: +1 pushes D's output up (a real sample), −1 pushes it down (a fake one).
            AdversarialLoss.W => (logits * (t * 2 - 1)).mean().neg(),
            AdversarialLoss.Hinge => nn.functional.relu(1 - logits * (t * 2 - 1)).mean(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown adversarial loss"),
        };
        return loss.MoveToOuterDisposeScope();
    }
}
