using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>Instance noise on D's inputs, decaying to zero (ganhacks §13, Sønderby et al. 2016).</summary>
internal static class InstanceNoise
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
