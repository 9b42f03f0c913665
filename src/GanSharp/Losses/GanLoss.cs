using static TorchSharp.torch;

namespace GanSharp.Losses;

/// <summary>
/// The reference's GANLoss over a multiscale discriminator: for each scale the last output (the prediction) is
/// scored with <see cref="Adversarial"/>'s terms, and the scores are averaged over the scales.
/// </summary>
internal sealed class GanLoss
{
    public GanLoss(AdversarialLoss mode) => Mode = mode;

    public AdversarialLoss Mode { get; }

    /// <param name="predictions">Per D scale, its outputs; only the last of each is used.</param>
    /// <param name="targetIsReal">Whether the target is "real".</param>
    /// <param name="forDiscriminator">
    /// Only matters for hinge: D gets the margin terms; G (which must target real) gets -mean(prediction).
    /// </param>
    /// <returns>A scalar.</returns>
    public Tensor Compute(IReadOnlyList<IReadOnlyList<Tensor>> predictions, bool targetIsReal, bool forDiscriminator) =>
        Average(predictions, pred => Single(pred, targetIsReal, forDiscriminator));

    /// <summary>
    /// D's loss against per-sample targets (soft or noisy labels): BCE or MSE against the target itself for
    /// original and ls; for hinge and w a target t acts as the sign 2t − 1, as in <see cref="Adversarial"/>.
    /// </summary>
    /// <param name="predictions">Per D scale, its outputs; only the last of each is used.</param>
    /// <param name="target">[N] targets, one per sample, shared by every scale and position.</param>
    public Tensor ComputeForDiscriminator(IReadOnlyList<IReadOnlyList<Tensor>> predictions, Tensor target) =>
        // D(real) and D(fake) take a target the same way; DReal's name only picks the default when none is given.
        Average(predictions, pred => Adversarial.DReal(pred, Mode, target));

    /// <summary>The loss of one prediction map.</summary>
    public Tensor Single(Tensor pred, bool targetIsReal, bool forDiscriminator)
    {
        if (!targetIsReal && !forDiscriminator && Mode == AdversarialLoss.Hinge)
            throw new ArgumentException("The generator's hinge loss must target real.", nameof(targetIsReal));
        // Outside hinge, G's loss is D's real term: the reference's GANLoss does not tell them apart.
        if (!forDiscriminator && targetIsReal) return Adversarial.G(pred, Mode);
        return targetIsReal ? Adversarial.DReal(pred, Mode) : Adversarial.DFake(pred, Mode);
    }

    private static Tensor Average(IReadOnlyList<IReadOnlyList<Tensor>> predictions, Func<Tensor, Tensor> term)
    {
        if (predictions.Count == 0) throw new ArgumentException("No discriminator outputs.", nameof(predictions));
        using var scope = NewDisposeScope();
        Tensor? total = null;
        foreach (var scale in predictions)
        {
            var t = term(scale[^1]);
            total = total is null ? t : total.add(t);
        }
        return total!.div(predictions.Count).MoveToOuterDisposeScope();
    }
}
