using static TorchSharp.torch;

namespace GanSharp.Distributed;

/// <summary>
/// Tells a gradient averager how far the backward pass has got, so that it can start summing the gradients that are
/// final while the rest of the backward runs. TorchSharp 0.107 has no gradient hooks on parameters, so the models mark
/// their block outputs instead (<see cref="Mark"/>). On the CPU, autograd runs the nodes of a graph one at a time in
/// decreasing order of creation (parameters' gradient accumulation first of all), so when the gradient reaches the mark
/// after block A, every node created after that mark has run: a parameter whose first use in the forward came after the
/// mark holds its final gradient.
/// Without a listener (one process, inference, the families) <see cref="Mark"/> returns its input and records nothing.
/// </summary>
internal static class BackwardProgress
{
    // Per thread: the forward and the backward of a training step run on the trainer's thread, and tests train in parallel.
    [ThreadStatic]
    private static IBackwardListener? listener;

    /// <summary>The listener of this thread's phase, or null. The trainer sets it for one phase's forward and backward.</summary>
    public static IBackwardListener? Listener
    {
        get => listener;
        set => listener = value;
    }

    /// <summary>
    /// Marks <paramref name="x"/>, the output of <paramref name="done"/>: the parameters of blocks that run after this
    /// point are final once the backward reaches it. Requires that <paramref name="done"/>'s parameters are not used
    /// before the previous mark (no weights shared with earlier code, nothing of them computed up front); marks must
    /// follow each other in forward order and not nest.
    /// </summary>
    public static Tensor Mark(Tensor x, nn.Module done)
    {
        var l = listener;
        if (l is null || !x.requires_grad) return x;
        int index = l.Forward(done);
        return index < 0 ? x : MarkFunction.apply(x, l, index);
    }

    // Identity in both directions; its backward reports the mark.
    private sealed class MarkFunction : autograd.SingleTensorFunction<MarkFunction>
    {
        public override string Name => "GanSharpBackwardMark";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            ctx.save_data("listener", vars[1]);
            ctx.save_data("index", vars[2]);
            return ((Tensor)vars[0]).alias();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            ((IBackwardListener)ctx.get_data("listener")).Reached((int)ctx.get_data("index"));
            return [gradOutput, null!, null!];
        }
    }
}

/// <summary>What <see cref="BackwardProgress"/> reports to.</summary>
internal interface IBackwardListener
{
    /// <summary>Records a marked block in forward order; returns the mark's index, or −1 when none of its parameters are this
    /// listener's (no mark is then inserted).</summary>
    int Forward(nn.Module done);

    /// <summary>The backward reached mark <paramref name="index"/>.</summary>
    void Reached(int index);
}

/// <summary>The sums a gradient averager needs, blocking and nonblocking (the MPI communicator; tests use a fake).</summary>
internal interface IGradientTransport : IRankSum
{
    /// <summary>Starts summing <paramref name="t"/> over the ranks in place; it must stay untouched until <see cref="WaitAll"/>.</summary>
    void StartSum(Tensor t, string what);

    /// <summary>Lets started sums move on.</summary>
    void Progress();

    /// <summary>Completes every started sum.</summary>
    void WaitAll(string what);
}
