using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>Real and fake through D as two batches or as one concatenated batch (ganhacks §4: BN statistics).</summary>
internal static class DiscriminatorPass
{
    /// <summary>
    /// D's outputs on real and fake. Separate calls give batch norm all-real and all-fake statistics; the joint
    /// call mixes them (the batch D sees is [real; fake]).
    /// </summary>
    public static (Tensor Real, Tensor Fake) Run(Func<Tensor, Tensor> d, Tensor real, Tensor fake, bool joint)
    {
        if (!joint) return (d(real), d(fake));
        long n = real.shape[0];
        var both = d(cat([real, fake], 0));
        return (both[..(int)n], both[(int)n..]);
    }
}
