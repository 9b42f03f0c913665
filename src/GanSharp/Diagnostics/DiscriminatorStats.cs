using GanSharp.Losses;
using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Diagnostics;

/// <summary>
/// What a discriminator's outputs say about the balance of the game. Recipes call <see cref="Report"/> in their D
/// phase; all values stay on the device until the flush.
/// </summary>
/// <remarks>
/// Names: <c>D_acc_real</c>, <c>D_acc_fake</c>, <c>D_acc</c> (accuracy on real, fake, both), <c>D(x)</c> and
/// <c>D(G(z))</c> (mean sigmoid for BCE, mean raw output otherwise), <c>r_t</c> (StyleGAN2-ADA's overfitting signal
/// E[sign(D(real) − threshold)]), <c>D_chance</c> (the D loss of a discriminator that outputs its threshold, for
/// the "stuck at chance" test) and, for a critic, <c>W_dist</c> = E[D(x)] − E[D(G(z))].
/// </remarks>
internal static class DiscriminatorStats
{
    /// <summary>Output value that separates "real" from "fake" for a loss kind.</summary>
    public static double Threshold(AdversarialLoss kind) => kind == AdversarialLoss.Ls ? 0.5 : 0.0;

    /// <summary>
    /// The summed D loss (real term + fake term) of a discriminator that always outputs its threshold; NaN for a
    /// critic, whose loss has no chance level.
    /// </summary>
    public static double ChanceLoss(AdversarialLoss kind) => kind switch
    {
        AdversarialLoss.Original => 2 * Math.Log(2),
        AdversarialLoss.Hinge => 2.0,
        // (0.5 − 1)² + (0.5 − 0)²: the reference's two MSE terms, not halved.
        AdversarialLoss.Ls => 0.5,
        _ => double.NaN,
    };

    /// <summary>Reports accuracy, mean outputs, r_t and the chance level for one D step's outputs.</summary>
    public static void Report(StatsCollector stats, Tensor realLogits, Tensor fakeLogits, AdversarialLoss lossKind)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        double t = Threshold(lossKind);
        var real = realLogits.detach().to_type(ScalarType.Float32);
        var fake = fakeLogits.detach().to_type(ScalarType.Float32);
        var accReal = real.gt(t).to_type(ScalarType.Float32).mean();
        var accFake = fake.le(t).to_type(ScalarType.Float32).mean();
        stats.Report("D_acc_real", accReal);
        stats.Report("D_acc_fake", accFake);
        stats.Report("D_acc", accReal.add(accFake).div(2));
        if (lossKind == AdversarialLoss.Original)
        {
            stats.Report("D(x)", sigmoid(real).mean());
            stats.Report("D(G(z))", sigmoid(fake).mean());
        }
        else
        {
            stats.Report("D(x)", real.mean());
            stats.Report("D(G(z))", fake.mean());
        }
        stats.Report("r_t", real.sub(t).sign().mean());
        if (lossKind == AdversarialLoss.W) stats.Report("W_dist", real.mean().sub(fake.mean()));
        else stats.Report("D_chance", ChanceLoss(lossKind));
    }

    /// <summary>
    /// Reports D's accuracy and r_t on held-out real images (<c>D_acc_heldout</c>, <c>r_t_heldout</c>); compared with
    /// <c>D_acc_real</c> on training images it shows memorisation (the BigGAN paper's test).
    /// </summary>
    public static void ReportHeldOut(StatsCollector stats, Tensor heldOutRealLogits, AdversarialLoss lossKind) =>
        ReportRealAccuracy(stats, heldOutRealLogits, lossKind, "heldout");

    /// <summary>
    /// Reports D's accuracy and r_t on a fixed subset of <em>training</em> reals scored exactly as the held-out ones
    /// (<c>D_acc_train</c>, <c>r_t_train</c>): same batch layout, no augmentation or instance noise, same moment. The
    /// memorisation test compares it with <c>D_acc_heldout</c>; <c>D_acc_real</c> comes from the training step's own
    /// (possibly augmented) batch and is noisier.
    /// </summary>
    public static void ReportTrainReference(StatsCollector stats, Tensor trainRealLogits, AdversarialLoss lossKind) =>
        ReportRealAccuracy(stats, trainRealLogits, lossKind, "train");

    // D_acc_<suffix> and r_t_<suffix> of logits on real images.
    private static void ReportRealAccuracy(StatsCollector stats, Tensor realLogits, AdversarialLoss lossKind, string suffix)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        double t = Threshold(lossKind);
        var real = realLogits.detach().to_type(ScalarType.Float32);
        stats.Report($"D_acc_{suffix}", real.gt(t).to_type(ScalarType.Float32).mean());
        stats.Report($"r_t_{suffix}", real.sub(t).sign().mean());
    }
}
