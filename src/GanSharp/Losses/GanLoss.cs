using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Losses;

/// <summary>The reference's --gan_mode.</summary>
public enum GanMode
{
    /// <summary>Hinge (default): D: mean(relu(1 - real)) + mean(relu(1 + fake)); G: -mean(fake).</summary>
    Hinge,
    /// <summary>Non-saturating cross-entropy on logits (BCE with logits against 1 / 0).</summary>
    Original,
    /// <summary>Least squares: MSE against 1 / 0.</summary>
    Ls,
    /// <summary>Wasserstein: -mean(real), mean(fake).</summary>
    W,
}

/// <summary>
/// The reference's GANLoss over a multiscale discriminator: for each scale the last output (the prediction) is
/// scored, and the scores are averaged over the scales.
/// </summary>
public sealed class GanLoss
{
    public GanLoss(GanMode mode) => Mode = mode;

    public GanMode Mode { get; }

    /// <param name="predictions">Per D scale, its outputs; only the last of each is used.</param>
    /// <param name="targetIsReal">Whether the target is "real".</param>
    /// <param name="forDiscriminator">
    /// Only matters for hinge: D gets the margin terms; G (which must target real) gets -mean(prediction).
    /// </param>
    /// <returns>A scalar.</returns>
    public Tensor Compute(IReadOnlyList<IReadOnlyList<Tensor>> predictions, bool targetIsReal, bool forDiscriminator)
    {
        if (predictions.Count == 0) throw new ArgumentException("No discriminator outputs.", nameof(predictions));
        using var scope = NewDisposeScope();
        Tensor? total = null;
        foreach (var scale in predictions) {
            var term = Single(scale[^1], targetIsReal, forDiscriminator);
            total = total is null ? term : total.add(term);
        }
        return total!.div(predictions.Count).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// D's loss against per-sample targets (soft or noisy labels): BCE or MSE against the target itself for
    /// original and ls; for hinge and w a target t acts as the sign 2t − 1, as in <see cref="Adversarial"/>.
    /// </summary>
    /// <param name="predictions">Per D scale, its outputs; only the last of each is used.</param>
    /// <param name="target">[N] targets, one per sample, shared by every scale and position.</param>
    public Tensor ComputeForDiscriminator(IReadOnlyList<IReadOnlyList<Tensor>> predictions, Tensor target)
    {
        if (predictions.Count == 0) throw new ArgumentException("No discriminator outputs.", nameof(predictions));
        using var scope = NewDisposeScope();
        Tensor? total = null;
        foreach (var scale in predictions) {
            var pred = scale[^1];
            var shape = new long[pred.dim()];
            Array.Fill(shape, 1L);
            shape[0] = pred.shape[0];
            var t = target.to_type(pred.dtype).view(shape).expand_as(pred);
            var term = Mode switch {
                GanMode.Original => F.binary_cross_entropy_with_logits(pred, t),
                GanMode.Ls => F.mse_loss(pred, t),
                GanMode.Hinge => F.relu(1 - pred * (t * 2 - 1)).mean(),
                _ => (pred * (t * 2 - 1)).mean().neg(),
            };
            total = total is null ? term : total.add(term);
        }
        return total!.div(predictions.Count).MoveToOuterDisposeScope();
    }

    /// <summary>The loss of one prediction map.</summary>
    public Tensor Single(Tensor pred, bool targetIsReal, bool forDiscriminator)
    {
        switch (Mode) {
        case GanMode.Original: {
            using var target = targetIsReal ? ones_like(pred) : zeros_like(pred);
            return F.binary_cross_entropy_with_logits(pred, target);
        }
        case GanMode.Ls: {
            using var target = targetIsReal ? ones_like(pred) : zeros_like(pred);
            return F.mse_loss(pred, target);
        }
        case GanMode.Hinge:
            if (forDiscriminator) {
                // -mean(min(x - 1, 0)) = mean(relu(1 - x)) for real; -mean(min(-x - 1, 0)) = mean(relu(1 + x)) for fake.
                using var scope = NewDisposeScope();
                var margin = targetIsReal ? pred.neg().add_(1) : pred.add(1);
                return margin.relu_().mean().MoveToOuterDisposeScope();
            }
            if (!targetIsReal)
                throw new ArgumentException("The generator's hinge loss must target real.", nameof(targetIsReal));
            return pred.mean().neg_();
        default:
            return targetIsReal ? pred.mean().neg_() : pred.mean();
        }
    }
}

/// <summary>Feature matching: L1 between D's intermediate outputs for fake and (detached) real, weighted by lambda / num_D.</summary>
public static class FeatureMatchingLoss
{
    /// <param name="fake">Per scale, D's outputs for the fake batch (the last, the prediction, is skipped).</param>
    /// <param name="real">The same for the real batch; detached here.</param>
    /// <param name="lambdaFeat">The reference's lambda_feat (10).</param>
    public static Tensor Compute(IReadOnlyList<IReadOnlyList<Tensor>> fake, IReadOnlyList<IReadOnlyList<Tensor>> real, double lambdaFeat)
    {
        using var scope = NewDisposeScope();
        int numD = fake.Count;
        Tensor total = zeros(1, device: fake[0][0].device);
        for (int i = 0; i < numD; i++) {
            for (int j = 0; j < fake[i].Count - 1; j++) {
                var l1 = F.l1_loss(fake[i][j], real[i][j].detach());
                // Same accumulation order as the reference: += L1 * lambda / num_D.
                total = total.add(l1.mul(lambdaFeat).div(numD));
            }
        }
        return total.squeeze(0).MoveToOuterDisposeScope();
    }
}

/// <summary>KL divergence of N(mu, exp(logvar)) from N(0, 1), summed (not averaged) as in the reference.</summary>
public static class KldLoss
{
    public static Tensor Compute(Tensor mu, Tensor logvar)
    {
        using var scope = NewDisposeScope();
        var inner = logvar.add(1).sub_(mu.pow(2)).sub_(logvar.exp());
        return inner.sum().mul_(-0.5).MoveToOuterDisposeScope();
    }
}
