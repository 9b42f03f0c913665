using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>D's targets with soft and noisy labels (ganhacks §6): one call per target tensor.</summary>
internal static class DTargets
{
    /// <summary>Targets for real samples: 1, a fixed soft value, or uniform in [low, high] per sample.</summary>
    public static Tensor Real(long[] shape, TricksOptions o, Generator? gen = null) => o.Smoothing switch
    {
        LabelSmoothing.None => ones(shape),
        LabelSmoothing.Fixed => full(shape, o.RealTarget),
        LabelSmoothing.Uniform => rand(shape, generator: gen) * (o.RealHigh - o.RealLow) + o.RealLow,
        _ => throw new ArgumentOutOfRangeException(nameof(o), o.Smoothing, "unknown label smoothing"),
    };

    /// <summary>Targets for fake samples: 0, or uniform in [0, FakeHigh] with uniform smoothing.</summary>
    public static Tensor Fake(long[] shape, TricksOptions o, Generator? gen = null) =>
        o.Smoothing == LabelSmoothing.Uniform && o.FakeHigh > 0 ? rand(shape, generator: gen) * o.FakeHigh : zeros(shape);

    /// <summary>
    /// Noisy labels: swaps the real and fake targets of a random <paramref name="fraction"/> of the samples
    /// (the same positions in both tensors), so D occasionally learns the opposite answer.
    /// </summary>
    public static (Tensor Real, Tensor Fake) Flip(Tensor real, Tensor fake, double fraction, Generator? gen = null)
    {
        if (fraction <= 0) return (real, fake);
        using var mask = rand(real.shape, generator: gen).lt(fraction);
        return (where(mask, fake, real), where(mask, real, fake));
    }

    /// <summary>Both targets of a D step with every label trick of <paramref name="o"/> applied.</summary>
    public static (Tensor Real, Tensor Fake) For(long[] shape, TricksOptions o, Generator? gen = null)
    {
        var real = Real(shape, o, gen);
        var fake = Fake(shape, o, gen);
        return Flip(real, fake, o.FlipFraction, gen);
    }
}
