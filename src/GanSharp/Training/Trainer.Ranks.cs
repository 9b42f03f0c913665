using GanSharp.Distributed;
using static TorchSharp.torch;

namespace GanSharp.Training;

// Data-parallel training over MPI ranks. Alone (no mpirun) every method here returns at once and changes nothing.
internal sealed partial class Trainer<TBatch>
{
    private readonly Communicator _comm = Communicator.World;
    private readonly Dictionary<string, GradientAverager> _averagers = new(StringComparer.Ordinal);

    private void JoinRanks(IEnumerable<OptimizerSlot> slots)
    {
        if (!_comm.IsDistributed) return;
        foreach (var slot in slots) _averagers[slot.Name] = new GradientAverager(_comm, slot.Parameters);
        Stats.Reduce = (order, values) => StatsReduction.Mean(_comm, order, values);
    }

    // Every rank starts from rank 0's weights and buffers, whatever its own initialisation or checkpoint read gave.
    // The optimizers' moments are read by every rank from the same checkpoint (shared storage) or start at zero.
    private void BroadcastNetworks()
    {
        if (!_comm.IsDistributed) return;
        using var _ = no_grad();
        foreach (var net in _recipe.Networks)
        {
            foreach (var (name, p) in net.Module.named_parameters()) BroadcastInPlace(p, $"the broadcast of {net.Name}.{name}");
            foreach (var (name, b) in net.Module.named_buffers()) BroadcastInPlace(b, $"the broadcast of {net.Name}.{name}");
        }
    }

    private void BroadcastInPlace(Tensor t, string what)
    {
        if (t.is_contiguous())
        {
            _comm.Broadcast(t, what);
            return;
        }
        using var copy = t.contiguous();
        _comm.Broadcast(copy, what);
        t.copy_(copy);
    }

    private void AverageGradients(string optimizer)
    {
        if (_averagers.TryGetValue(optimizer, out var averager)) averager.Average($"the gradient allreduce of {optimizer}");
    }

    // A stop (Ctrl+C, reaching one rank first) must end every rank after the same iteration, or the others would wait.
    private bool StopRequested(CancellationToken token)
    {
        bool stop = token.IsCancellationRequested;
        return _comm.IsDistributed ? _comm.AllreduceMax(stop ? 1 : 0, "the stop check") > 0 : stop;
    }

    // Every rank's torch generator must stay in step (GlobalDraws, the replay buffer's draws rely on it), so work that
    // only rank 0 does (pages, evaluation) gives the generator back as it found it.
    private RngKeeper? KeepRngOnRoot() => _comm.IsDistributed ? new RngKeeper() : null;

    private sealed class RngKeeper : IDisposable
    {
        private readonly Tensor _state = TorchSharp.torch.random.get_rng_state();

        public void Dispose()
        {
            TorchSharp.torch.random.set_rng_state(_state);
            _state.Dispose();
        }
    }
}
