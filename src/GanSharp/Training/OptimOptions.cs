using GanSharp.Options;

namespace GanSharp.Training;

/// <summary>Optimizer and schedule options, with the reference's defaults (Adam, TTUR, niter/niter_decay).</summary>
public sealed record OptimOptions
{
    /// <summary>Initial learning rate before the TTUR split.</summary>
    public double Lr { get; init; } = 0.0002;

    /// <summary>Adam beta1 used with <see cref="NoTtur"/>; TTUR fixes betas to (0, 0.9) as the reference.</summary>
    public double Beta1 { get; init; } = 0.5;

    /// <summary>Adam beta2 used with <see cref="NoTtur"/>.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>Use the same lr for G and D and the betas above, instead of TTUR (G lr/2, D lr*2, betas (0, 0.9)).</summary>
    public bool NoTtur { get; init; }

    /// <summary>Epochs at the initial learning rate.</summary>
    public int Niter { get; init; } = 50;

    /// <summary>Epochs over which the learning rate then falls linearly to zero.</summary>
    public int NiterDecay { get; init; }

    /// <summary>Separate multiplier on G's learning rate (1 = reference behaviour); a first-aid remedy.</summary>
    public double LrScaleG { get; init; } = 1.0;

    /// <summary>Separate multiplier on D's learning rate (1 = reference behaviour).</summary>
    public double LrScaleD { get; init; } = 1.0;

    public int TotalEpochs => Niter + NiterDecay;

    /// <summary>
    /// The base learning rate in force during 1-based <paramref name="epoch"/>: the reference lowers it by lr/niter_decay
    /// at the end of every epoch after niter. A closed form, so resume needs no stored lr.
    /// </summary>
    public double BaseLrAt(int epoch)
    {
        // Repeated subtraction, as the reference does it, so the floats equal its values.
        double lr = Lr;
        for (int e = Niter + 1; e < epoch && NiterDecay > 0; e++) lr -= Lr / NiterDecay;
        return Math.Max(0.0, lr);
    }

    /// <summary>G's and D's learning rates in an epoch (TTUR split re-applied each time, as the reference).</summary>
    public (double G, double D) LearningRatesAt(int epoch)
    {
        double lr = BaseLrAt(epoch);
        return NoTtur ? (lr * LrScaleG, lr * LrScaleD) : (lr / 2 * LrScaleG, lr * 2 * LrScaleD);
    }

    public (double Beta1, double Beta2) Betas => NoTtur ? (Beta1, Beta2) : (0.0, 0.9);

    public void Validate()
    {
        if (Lr <= 0 || double.IsNaN(Lr)) throw new GanSharpException(ErrorKind.Usage, $"{OptimOptionSpecs.Lr.Flag} is {Lr}: it must be a "
            + "positive number such as 0.0002.");
        if (Niter < 0 || NiterDecay < 0) throw new GanSharpException(ErrorKind.Usage, $"{OptimOptionSpecs.Niter.Flag} {Niter} and "
            + $"{OptimOptionSpecs.NiterDecay.Flag} {NiterDecay} "
            + "must not be negative.");
        if (TotalEpochs < 1) throw new GanSharpException(ErrorKind.Usage, $"{OptimOptionSpecs.Niter.Flag} plus "
            + $"{OptimOptionSpecs.NiterDecay.Flag} is 0: train at least one epoch.");
        if (LrScaleG <= 0 || LrScaleD <= 0 || !double.IsFinite(LrScaleG) || !double.IsFinite(LrScaleD))
            throw new GanSharpException(ErrorKind.Usage, $"{OptimOptionSpecs.LrScaleG.Flag} {LrScaleG} and "
                + $"{OptimOptionSpecs.LrScaleD.Flag} {LrScaleD} must be positive numbers "
                + "(1 = the reference's rates).");
        var (g, d) = LearningRatesAt(1);
        if (Math.Max(g, d) > float.MaxValue)
            throw new GanSharpException(ErrorKind.Usage, $"{OptimOptionSpecs.Lr.Flag} {Lr} with its scales gives G {g:G3} and D {d:G3}, "
                + "beyond a 32-bit float: "
                + "use a learning rate such as 0.0002.");
        if (Beta1 is < 0 or >= 1 || Beta2 is < 0 or >= 1) throw new GanSharpException(ErrorKind.Usage, $"{OptimOptionSpecs.Beta1.Flag} "
            + $"{Beta1} and {OptimOptionSpecs.Beta2.Flag} "
            + $"{Beta2} must lie in [0, 1).");
    }
}
