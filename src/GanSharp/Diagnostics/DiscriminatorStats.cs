using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Diagnostics;

/// <summary>How a discriminator's raw outputs are read: where "real" starts and what D's loss is at chance.</summary>
public enum DLossKind
{
    /// <summary>Binary cross-entropy on logits (vanilla / non-saturating GAN): real when logit &gt; 0; D(x) as probability.</summary>
    NonSaturating,
    /// <summary>Hinge loss (SPADE's default): real when output &gt; 0.</summary>
    Hinge,
    /// <summary>Least squares with targets 1 (real) and 0 (fake): real when output &gt; 0.5.</summary>
    LeastSquares,
    /// <summary>Wasserstein critic: the sign of the output; also reports the critic's distance estimate.</summary>
    Wasserstein,
}

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
public static class DiscriminatorStats
{
    /// <summary>Output value that separates "real" from "fake" for a loss kind.</summary>
    public static double Threshold(DLossKind kind) => kind == DLossKind.LeastSquares ? 0.5 : 0.0;

    /// <summary>
    /// The summed D loss (real term + fake term) of a discriminator that always outputs its threshold; NaN for a
    /// critic, whose loss has no chance level.
    /// </summary>
    public static double ChanceLoss(DLossKind kind) => kind switch
    {
        DLossKind.NonSaturating => 2 * Math.Log(2),
        DLossKind.Hinge => 2.0,
        // (0.5 − 1)² + (0.5 − 0)²: the reference's two MSE terms, not halved.
        DLossKind.LeastSquares => 0.5,
        _ => double.NaN,
    };

    /// <summary>Reports accuracy, mean outputs, r_t and the chance level for one D step's outputs.</summary>
    public static void Report(StatsCollector stats, Tensor realLogits, Tensor fakeLogits, DLossKind lossKind)
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
        if (lossKind == DLossKind.NonSaturating)
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
        if (lossKind == DLossKind.Wasserstein) stats.Report("W_dist", real.mean().sub(fake.mean()));
        else stats.Report("D_chance", ChanceLoss(lossKind));
    }

    /// <summary>
    /// Reports D's accuracy and r_t on held-out real images (<c>D_acc_heldout</c>, <c>r_t_heldout</c>); compared with
    /// <c>D_acc_real</c> on training images it shows memorisation (the BigGAN paper's test).
    /// </summary>
    public static void ReportHeldOut(StatsCollector stats, Tensor heldOutRealLogits, DLossKind lossKind) =>
        ReportRealAccuracy(stats, heldOutRealLogits, lossKind, "heldout");

    /// <summary>
    /// Reports D's accuracy and r_t on a fixed subset of <em>training</em> reals scored exactly as the held-out ones
    /// (<c>D_acc_train</c>, <c>r_t_train</c>): same batch layout, no augmentation or instance noise, same moment. The
    /// memorisation test compares it with <c>D_acc_heldout</c>; <c>D_acc_real</c> comes from the training step's own
    /// (possibly augmented) batch and is noisier.
    /// </summary>
    public static void ReportTrainReference(StatsCollector stats, Tensor trainRealLogits, DLossKind lossKind) =>
        ReportRealAccuracy(stats, trainRealLogits, lossKind, "train");

    // D_acc_<suffix> and r_t_<suffix> of logits on real images.
    private static void ReportRealAccuracy(StatsCollector stats, Tensor realLogits, DLossKind lossKind, string suffix)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        double t = Threshold(lossKind);
        var real = realLogits.detach().to_type(ScalarType.Float32);
        stats.Report($"D_acc_{suffix}", real.gt(t).to_type(ScalarType.Float32).mean());
        stats.Report($"r_t_{suffix}", real.sub(t).sign().mean());
    }
}

/// <summary>Validation losses on a held-out split, logged as <c>val/&lt;term&gt;</c> next to the training term.</summary>
public static class ValidationStats
{
    /// <summary>The statistic name of a term's validation loss (the perceptual-overfitting detector reads <c>val/VGG</c>).</summary>
    public static string Name(string term) => "val/" + term;

    /// <summary>Reports a validation loss under <see cref="Name"/>.</summary>
    public static void Report(StatsCollector stats, string term, Tensor value) => stats.Report(Name(term), value);
}

/// <summary>
/// When to evaluate the held-out split: at the first log step once <see cref="Every"/> iterations have passed since
/// the last evaluation (validation costs forward passes, so not at every log step). Not saved by itself: after
/// a resume the first log step evaluates, unless the recipe restores <see cref="Last"/>.
/// </summary>
public sealed class ValidationSchedule(long every)
{
    private long _last = long.MinValue;

    /// <summary>Iterations between evaluations.</summary>
    public long Every { get; } = every;

    /// <summary>
    /// Iterations done at the last evaluation (<see cref="long.MinValue"/> before the first); a recipe saves it with
    /// its state so that a resumed run validates at the same iterations as an uninterrupted one.
    /// </summary>
    public long Last
    {
        get => _last;
        set => _last = value;
    }

    /// <summary>True when this iteration should evaluate (and records that it does).</summary>
    public bool IsDue(StepContext context)
    {
        if (!context.IsLogStep || Every <= 0) return false;
        long done = context.Iteration + 1;
        if (_last != long.MinValue && done - _last < Every) return false;
        _last = done;
        return true;
    }
}

/// <summary>Sample diversity: how spread a fixed batch of fakes is (mode collapse shrinks it).</summary>
public static class SampleDiversity
{
    /// <summary>
    /// Mean Euclidean distance over all distinct pairs of samples [N, ...] (flattened per sample). A generator that
    /// has collapsed to a few modes maps many z to nearly the same output, so this falls well below the real data's.
    /// </summary>
    public static Tensor MeanPairwiseDistance(Tensor samples)
    {
        using var _ = no_grad();
        long n = samples.shape[0];
        if (n < 2) throw new ArgumentException("diversity needs at least two samples", nameof(samples));
        using var scope = NewDisposeScope();
        var flat = samples.detach().reshape(n, -1).to_type(ScalarType.Float64); // [N, F]
        var d = cdist(flat, flat);                                               // [N, N], zero diagonal
        return d.sum().div(n * (n - 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Optional diagnostics a recipe can provide. The trainer calls <see cref="ReportDiagnostics"/> under
/// <c>no_grad</c> in every iteration whose statistics are flushed, after the phases, with that iteration's batch.
/// </summary>
/// <remarks>
/// Report what the family can: <c>diversity</c> (<see cref="SampleDiversity"/> of fakes from a fixed batch of z, or of
/// fixed different conditions for a conditional G) and <c>diversity_real</c> (the same for the matching real data),
/// <c>diversity_z</c> for a conditional G with a latent (one fixed condition, several fixed z), held-out D accuracy
/// through <see cref="DiscriminatorStats.ReportHeldOut"/> (with <see cref="DiscriminatorStats.ReportTrainReference"/>
/// for the training side scored the same way), and validation losses as <c>val/&lt;term&gt;</c> (e.g. <c>val/VGG</c>,
/// <c>val/L1</c>) on a held-out split; a recipe may compute those only every K-th call (<see cref="ValidationSchedule"/>).
/// Any randomness must come from a private generator and any buffer a forward moves must be put back: exact resume
/// and the training trajectory must not depend on whether diagnostics ran.
/// </remarks>
public interface IDiagnosticRecipe<in TBatch>
{
    void ReportDiagnostics(TBatch batch, StepContext context);
}
