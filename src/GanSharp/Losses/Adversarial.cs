using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Losses;

/// <summary>
/// The adversarial loss kinds, shared by SPADE (<c>--gan-mode</c>) and the families (<c>--loss</c>). The saturating
/// minimax G loss is not a kind of its own: it is the original loss with <c>--saturating</c>, which only changes G's term.
/// </summary>
public enum AdversarialLoss
{
    /// <summary>Hinge (SPADE's default): D minimises E[relu(1 − D(real))] + E[relu(1 + D(fake))]; G minimises −E[D(fake)].</summary>
    Hinge,
    /// <summary>Goodfellow's GAN: cross-entropy on logits (BCE with logits against 1 / 0), non-saturating G loss −log D(G(z)).</summary>
    Original,
    /// <summary>Least squares (LSGAN): MSE of D's output to the targets 1 / 0 (seed 004: BCE vs MSE).</summary>
    Ls,
    /// <summary>Wasserstein critic: D maximises E[D(real)] − E[D(fake)].</summary>
    W,
}

/// <summary>
/// The one implementation of the adversarial objectives, on a single tensor of D outputs (logits, not
/// probabilities); SPADE's multiscale <see cref="GanLoss"/> averages these terms over its scales. Without a target
/// every term uses the ops of the NVlabs reference's GANLoss (the parity fixtures pin them). Targets let a recipe apply
/// soft and noisy labels: for <see cref="AdversarialLoss.Original"/>/<see cref="AdversarialLoss.Ls"/> a target is the
/// value D is pulled to; for <see cref="AdversarialLoss.W"/>/<see cref="AdversarialLoss.Hinge"/>, which have no target
/// values, a target t becomes the sign 2t − 1 of the sample's term, so a flipped label (t = 0 on a real sample)
/// reverses its push and a soft 0.9 weakens it to 0.8.
/// </summary>
internal static class Adversarial
{
    /// <summary>
    /// D's loss on outputs for real samples; <paramref name="target"/> (the logits' shape, or [N] broadcast over each
    /// sample's outputs) defaults to 1 everywhere.
    /// </summary>
    public static Tensor DReal(Tensor logits, AdversarialLoss kind, Tensor? target = null) =>
        target is null ? DTerm(logits, kind, real: true) : DTerm(logits, kind, target);

    /// <summary>
    /// D's loss on outputs for generated samples; <paramref name="target"/> (the logits' shape, or [N] broadcast over
    /// each sample's outputs) defaults to 0 everywhere.
    /// </summary>
    public static Tensor DFake(Tensor logits, AdversarialLoss kind, Tensor? target = null) =>
        target is null ? DTerm(logits, kind, real: false) : DTerm(logits, kind, target);

    /// <summary>
    /// G's loss on D's outputs for generated samples. <paramref name="saturating"/> (original loss only) minimises
    /// log(1 − D(G(z))), the minimax game whose gradient vanishes when D wins (ganhacks §2 says don't).
    /// </summary>
    public static Tensor G(Tensor logits, AdversarialLoss kind, bool saturating = false)
    {
        // log(1 − sigmoid(x)) = −softplus(x).
        if (saturating && kind == AdversarialLoss.Original) return F.softplus(logits).neg().mean();
        switch (kind)
        {
            case AdversarialLoss.Original:
                {
                    using var target = ones_like(logits);
                    return F.binary_cross_entropy_with_logits(logits, target);
                }
            case AdversarialLoss.Ls:
                {
                    using var target = ones_like(logits);
                    return F.mse_loss(logits, target);
                }
            case AdversarialLoss.W or AdversarialLoss.Hinge:
                return logits.mean().neg_();
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown adversarial loss");
        }
    }

    // The reference's terms against the fixed targets 1 (real) and 0 (fake).
    private static Tensor DTerm(Tensor pred, AdversarialLoss kind, bool real)
    {
        switch (kind)
        {
            case AdversarialLoss.Original:
                {
                    using var target = real ? ones_like(pred) : zeros_like(pred);
                    return F.binary_cross_entropy_with_logits(pred, target);
                }
            case AdversarialLoss.Ls:
                {
                    using var target = real ? ones_like(pred) : zeros_like(pred);
                    return F.mse_loss(pred, target);
                }
            case AdversarialLoss.Hinge:
                {
                    // -mean(min(x - 1, 0)) = mean(relu(1 - x)) for real; -mean(min(-x - 1, 0)) = mean(relu(1 + x)) for fake.
                    using var scope = NewDisposeScope();
                    var margin = real ? pred.neg().add_(1) : pred.add(1);
                    return margin.relu_().mean().MoveToOuterDisposeScope();
                }
            case AdversarialLoss.W:
                return real ? pred.mean().neg_() : pred.mean();
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown adversarial loss");
        }
    }

    // Per-sample targets (soft or noisy labels).
    private static Tensor DTerm(Tensor pred, AdversarialLoss kind, Tensor target)
    {
        using var scope = NewDisposeScope();
        var t = target.to_type(pred.dtype);
        if (t.dim() != pred.dim())
        {
            var shape = new long[pred.dim()];
            Array.Fill(shape, 1L);
            shape[0] = pred.shape[0];
            t = t.view(shape).expand_as(pred);
        }
        var loss = kind switch
        {
            AdversarialLoss.Original => F.binary_cross_entropy_with_logits(pred, t),
            AdversarialLoss.Ls => F.mse_loss(pred, t),
            // Sign s = 2t − 1: +1 pushes D's output up (a real sample), −1 pushes it down (a fake one).
            AdversarialLoss.Hinge => F.relu(1 - pred * (t * 2 - 1)).mean(),
            AdversarialLoss.W => (pred * (t * 2 - 1)).mean().neg(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown adversarial loss"),
        };
        return loss.MoveToOuterDisposeScope();
    }
}
