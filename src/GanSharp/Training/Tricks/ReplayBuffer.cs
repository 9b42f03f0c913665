using GanSharp.Distributed;
using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>
/// Experience replay of old fakes (ganhacks §8, the image pool of Shrivastava et al.): until full, the buffer stores
/// every fake it sees; then each fake shown to D is, with probability p, swapped for a random stored one, which the
/// new fake replaces. D thus keeps seeing what G used to produce and G cannot cycle between modes unpunished.
/// </summary>
internal sealed class ReplayBuffer(int capacity, double probability) : IDisposable
{
    private Tensor? _items;
    private int _count;

    public int Capacity { get; } = capacity;

    public double Probability { get; } = probability;

    /// <summary>Fakes stored so far.</summary>
    public int Count => _count;

    /// <summary>
    /// The batch D should see: <paramref name="fakes"/> with some samples swapped for stored ones (detached).
    /// Under mpirun every rank mixes the global batch (all ranks' fakes in rank order) into its own copy of the buffer,
    /// with the same draws (the ranks' generators agree), and keeps its part: the buffers stay identical on every rank,
    /// so rank 0's checkpoint holds each rank's, and K ranks of batch b replay as one process of batch K·b.
    /// </summary>
    public Tensor Mix(Tensor fakes, Generator? gen = null)
    {
        var comm = Communicator.World;
        if (!comm.IsDistributed) return MixGlobal(fakes, gen);
        using var scope = NewDisposeScope();
        long n = fakes.shape[0];
        var all = comm.AllGather(fakes.detach(), "the replay buffer's fakes");
        return MixGlobal(all, gen).narrow(0, comm.Rank * n, n).clone().MoveToOuterDisposeScope();
    }

    private Tensor MixGlobal(Tensor fakes, Generator? gen)
    {
        using var scope = NewDisposeScope();
        var fresh = fakes.detach();
        if (Capacity <= 0) return fresh.MoveToOuterDisposeScope();
        long n = fresh.shape[0];
        if (_items is null)
        {
            var shape = fresh.shape.ToArray();
            shape[0] = Capacity;
            // The buffer outlives every step: keep it out of all dispose scopes.
            _items = zeros(shape, dtype: fresh.dtype).DetachFromDisposeScope();
        }
        // One uniform draw and one index per sample, taken whether used or not, keep the RNG stream simple to replay.
        var u = rand([n], generator: gen).data<float>().ToArray();
        var pick = randint(0, Capacity, [n], generator: gen).data<long>().ToArray();
        var rows = new List<Tensor>((int)n);
        using (no_grad())
        {
            for (int i = 0; i < n; i++)
            {
                var row = fresh[i];
                if (_count < Capacity)
                {
                    _items[_count++].copy_(row);
                    rows.Add(row);
                }
                else if (u[i] < Probability)
                {
                    var old = _items[pick[i]].clone();
                    _items[pick[i]].copy_(row);
                    rows.Add(old);
                }
                else
                {
                    rows.Add(row);
                }
            }
        }
        return stack(rows).MoveToOuterDisposeScope();
    }

    /// <summary>The buffer's content for the checkpoint.</summary>
    public Dictionary<object, object?> State() => new()
    {
        ["count"] = (long)_count,
        ["items"] = _items?.clone(),
    };

    /// <summary>Restores a buffer saved by <see cref="State"/>.</summary>
    public void Load(Dictionary<object, object?>? state)
    {
        if (state is null) return;
        _count = (int)Convert.ToInt64(state["count"], System.Globalization.CultureInfo.InvariantCulture);
        _items?.Dispose();
        _items = state["items"] is Tensor t ? t.clone().DetachFromDisposeScope() : null;
    }

    public void Dispose() => _items?.Dispose();
}
