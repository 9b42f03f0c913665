using GanSharp.Distributed;
using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>
/// The adaptive augmentation probability of StyleGAN2-ADA: every few iterations r_t = E[sign(D(real))] is compared
/// with a target and p moves by (images seen) / (speed) towards less overfitting. Unlike ADA's own code, p is kept in
/// [0, p_max]: an unbounded p runs away to 1 and leaks augmentations into G's output.
/// </summary>
public sealed class AdaptiveAugment(double target, double pMax, int speedImages, int interval) : IDisposable
{
    private Tensor? _signSum;
    private long _signCount;
    private long _steps;

    /// <summary>The current probability (0 at the start, as ADA).</summary>
    public double P { get; private set; }

    /// <summary>r_t of the last update.</summary>
    public double LastRt { get; private set; }

    /// <summary>Accumulates sign(D(real)) on the device (no sync).</summary>
    public void Accumulate(Tensor dReal)
    {
        var s = dReal.detach().sign().sum().to_type(ScalarType.Float64);
        if (_signSum is null) _signSum = s.DetachFromDisposeScope();
        else
        {
            var sum = _signSum.add(s);
            _signSum.Dispose();
            _signSum = sum.DetachFromDisposeScope();
        }
        _signCount += dReal.numel();
    }

    /// <summary>
    /// Counts one iteration of <paramref name="batchSize"/> images (this rank's part of the batch); every <c>interval</c>
    /// iterations moves p (one sync). Under mpirun the sign sums and counts are summed over the ranks first and the step
    /// counts the global batch, so every rank moves p alike, as one process with the whole batch would.
    /// </summary>
    public void Step(int batchSize)
    {
        _steps++;
        if (_steps % interval != 0) return;
        var comm = Communicator.World;
        Span<double> sums = [_signSum?.item<double>() ?? 0, _signCount];
        comm.AllreduceSum(sums, "ADA's statistic");
        _signSum?.Dispose();
        _signSum = null;
        _signCount = 0;
        if (sums[1] == 0) return;
        LastRt = sums[0] / sums[1];
        double adjust = Math.Sign(LastRt - target) * (double)batchSize * comm.Size * interval / speedImages;
        P = Math.Clamp(P + adjust, 0, pMax);
    }

    /// <summary>p and the counters for the checkpoint (the partial sign sum is folded in so resume is exact).</summary>
    public Dictionary<object, object?> State() => new()
    {
        ["p"] = P,
        ["rt"] = LastRt,
        ["steps"] = _steps,
        ["sign_count"] = _signCount,
        ["sign_sum"] = _signSum is null ? 0.0 : _signSum.item<double>(),
    };

    /// <summary>Restores <see cref="State"/>.</summary>
    public void Load(Dictionary<object, object?>? state)
    {
        if (state is null) return;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        P = Convert.ToDouble(state["p"], inv);
        LastRt = Convert.ToDouble(state["rt"], inv);
        _steps = Convert.ToInt64(state["steps"], inv);
        _signCount = Convert.ToInt64(state["sign_count"], inv);
        _signSum?.Dispose();
        _signSum = _signCount > 0 ? tensor(Convert.ToDouble(state["sign_sum"], inv), ScalarType.Float64).DetachFromDisposeScope() : null;
    }

    public void Dispose() => _signSum?.Dispose();
}
