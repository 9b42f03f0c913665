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
        // Rank 0 decides both, from its own environment (mpirun passes variables to other machines only with -x): ranks
        // that disagreed would start sums of other sizes or in another order and deadlock.
        string choice = _comm.IsRoot
            ? FormattableString.Invariant($"{GradientAverager.ChooseOverlap(Environment.GetEnvironmentVariable(GradientAverager.OverlapVariable),
                _comm.SpansMachines)} {GradientAverager.ConfiguredBucketFloats}")
            : "";
        var agreed = _comm.Broadcast(choice, "rank 0's choice of gradient buckets").Split(' ');
        bool overlap = bool.Parse(agreed[0]);
        long bucket = long.Parse(agreed[1], System.Globalization.CultureInfo.InvariantCulture);
        foreach (var slot in slots) _averagers[slot.Name] = new GradientAverager(_comm, slot.Parameters, bucket, overlap);
        Stats.Reduce = (order, values) => StatsReduction.Mean(_comm, order, values);
    }

    // Every rank starts from rank 0's weights and buffers, whatever its own initialisation or checkpoint read gave, then
    // from the rest of its state, sent as one blob in the checkpoint's own format (RunFolder.RunState): the position,
    // the optimizers' moments, the tricks' state (replay buffer, ADA's p, EMA counters), the statistics and the torch
    // generator. A rank whose copy of the checkpoint is stale (a network file system's cache) then still continues rank
    // 0's run. The blob is limited to 2 GiB: Adam's moments of ~250 M parameters. Returns rank 0's position.
    private TrainPosition BroadcastState(TrainPosition start)
    {
        if (!_comm.IsDistributed) return start;
        using (no_grad())
        {
            foreach (var net in _recipe.Networks)
            {
                foreach (var (name, p) in net.Module.named_parameters()) BroadcastInPlace(p, $"the broadcast of {net.Name}.{name}");
                foreach (var (name, b) in net.Module.named_buffers()) BroadcastInPlace(b, $"the broadcast of {net.Name}.{name}");
            }
        }
        byte[] blob = [];
        if (_comm.IsRoot)
        {
            var extra = _recipe.ExtraState();
            extra[NetworkStatisticsKey] = _networkStats.State();
            var run = RunFolder.RunState(_optimizers, start, extra);
            try
            {
                using var ms = new MemoryStream();
                Interop.PthWriter.Write(ms, run);
                blob = ms.ToArray();
            }
            finally
            {
                RunFolder.DisposeRunState(run);
                foreach (var t in ((Dictionary<object, object?>)extra[NetworkStatisticsKey]!).Values.OfType<Tensor>()) t.Dispose();
            }
        }
        blob = _comm.Broadcast(blob, "the broadcast of rank 0's training state");
        if (_comm.IsRoot) return start;
        const string source = "rank 0's training state";
        using var stream = new MemoryStream(blob);
        var received = (Dictionary<object, object?>)Interop.PthReader.Read(stream, source)!;
        var position = RestoreRunState(new LoadedState(source, received));
        // Every load above copied what it kept: the received tensors (Adam's moments among them) can go now.
        DisposeTensors(received);
        return position;
    }

    private static void DisposeTensors(object? node)
    {
        switch (node)
        {
            case Tensor t:
                t.Dispose();
                break;
            case Dictionary<object, object?> d:
                foreach (var v in d.Values) DisposeTensors(v);
                break;
            case System.Collections.IEnumerable items and not string:
                foreach (var v in items) DisposeTensors(v);
                break;
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

    // Loss and backward of one repetition, with the gradients of the phase's optimizer averaged over the ranks: the sums
    // start during the backward as the marked blocks' gradients become final (GradientAverager).
    private void LossAndBackward(TrainPhase phase, TBatch batch, StepContext ctx)
    {
        var averager = _averagers.GetValueOrDefault(phase.Optimizer);
        if (averager is null)
        {
            _recipe.Loss(phase, batch, ctx).backward();
            return;
        }
        averager.BeginForward();
        try
        {
            var loss = _recipe.Loss(phase, batch, ctx);
            averager.Arm($"the gradient allreduce of {phase.Optimizer}");
            var (seconds, overlapped, trailing) = (averager.Seconds, averager.OverlappedFloats, averager.TrailingFloats);
            loss.backward();
            averager.Finish();
            _comm.GradientSeconds += averager.Seconds - seconds;
            _comm.OverlappedFloats += averager.OverlappedFloats - overlapped;
            _comm.TrailingFloats += averager.TrailingFloats - trailing;
        }
        finally
        {
            averager.Abandon();
        }
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
