using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>D's targets with soft and noisy labels (ganhacks §6): one call per target tensor.</summary>
public static class DTargets
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

/// <summary>Instance noise on D's inputs, decaying to zero (ganhacks §13, Sønderby et al. 2016).</summary>
public static class InstanceNoise
{
    /// <summary>The noise std at 0-based iteration <paramref name="step"/>.</summary>
    public static double Std(TricksOptions o, long step)
    {
        if (o.InstanceNoise <= 0 || step >= o.InstanceNoiseSteps) return 0;
        double f = (double)step / o.InstanceNoiseSteps;
        return o.InstanceNoiseDecay == NoiseDecay.Linear ? o.InstanceNoise * (1 - f) : o.InstanceNoise * Math.Exp(-5 * f);
    }

    /// <summary>x plus Gaussian noise of the std at <paramref name="step"/> (x itself when the std is zero).</summary>
    public static Tensor Apply(Tensor x, TricksOptions o, long step, Generator? gen = null)
    {
        double std = Std(o, step);
        return std > 0 ? x + randn(x.shape, generator: gen) * std : x;
    }
}

/// <summary>Points on the sphere of radius √dim and great-circle interpolation (ganhacks §3).</summary>
public static class Latent
{
    /// <summary>z [n, dim]: N(0, I), or normalised onto the sphere of radius √dim where Gaussian samples concentrate.</summary>
    public static Tensor Sample(long n, long dim, bool sphere, Generator? gen = null)
    {
        var z = randn([n, dim], generator: gen);
        if (!sphere) return z;
        using (z) return nn.functional.normalize(z, p: 2, dim: 1) * Math.Sqrt(dim);
    }

    /// <summary>Spherical interpolation between rows of a and b at fractions t ∈ [0, 1] (scalar or [n]).</summary>
    public static Tensor Slerp(Tensor a, Tensor b, Tensor t)
    {
        using var scope = NewDisposeScope();
        var tt = t.reshape(-1, 1).to_type(a.dtype);
        var an = nn.functional.normalize(a, p: 2, dim: 1);
        var bn = nn.functional.normalize(b, p: 2, dim: 1);
        var omega = (an * bn).sum(1, keepdim: true).clamp(-1 + 1e-7, 1 - 1e-7).acos();
        var so = omega.sin();
        var slerp = ((1 - tt) * omega).sin() / so * a + (tt * omega).sin() / so * b;
        // Nearly parallel vectors make sin(ω) vanish: fall back to the straight line there.
        var lerp = a + (b - a) * tt;
        return where(so.abs().lt(1e-4), lerp, slerp).MoveToOuterDisposeScope();
    }
}
