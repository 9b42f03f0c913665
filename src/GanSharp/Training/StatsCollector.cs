using static TorchSharp.torch;

namespace GanSharp.Training;

/// <summary>A set of named statistics at one point of a run.</summary>
public sealed record StatsRecord(int Epoch, long EpochImages, long Iteration, double Seconds, IReadOnlyDictionary<string, double> Values)
{
    /// <summary>
    /// The statistic that became NaN or infinite first in time since the previous record (not first in report
    /// order: once one term diverges, every later term computed from it follows); null when all are finite.
    /// </summary>
    public string? FirstNonFinite { get; init; }

    /// <summary>
    /// The iteration (counted as <see cref="Iteration"/> counts, so iteration <c>k</c> ends with <c>k</c> done) whose
    /// reports held that first non-finite value; the one before it was the last whose reports were all finite. Null when
    /// everything is finite or the reports carried no iteration (<see cref="StatsCollector.CurrentIteration"/>).
    /// </summary>
    public long? FirstNonFiniteIteration { get; init; }
}

/// <summary>Receives statistics at log intervals (console, loss_log.txt, JSONL, TensorBoard, failure detectors).</summary>
public interface IStatsSink
{
    void OnStats(StatsRecord record);
}

/// <summary>
/// Collects named statistics during training. Tensors are kept on the device and summed there; they are read back
/// only when <see cref="Flush"/> runs at a log interval, because every read is a synchronisation point.
/// </summary>
public sealed class StatsCollector : IDisposable
{
    private readonly Dictionary<string, (Tensor Sum, int Count)> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (double Sum, int Count)> _scalars = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly List<IStatsSink> _sinks = [];

    // Per name, the smallest report sequence number whose value was not finite (kept on the device as
    // seq, or as BadNever + seq when finite), so that the term that diverged first can be named without a sync.
    private readonly Dictionary<string, Tensor> _firstBad = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _firstBadHost = new(StringComparer.Ordinal);
    private long _seq;
    private const double BadNever = 1e18;

    // Where each iteration's reports start in the sequence numbers, so that the first non-finite report can be
    // placed in its iteration exactly rather than somewhere between two flushes.
    private readonly List<(long FirstSeq, long Iteration)> _iterationStarts = [];
    private long? _currentIteration;

    public void Subscribe(IStatsSink sink) => _sinks.Add(sink);

    /// <summary>
    /// Combines each flush's means with the other ranks' (data-parallel training), in the names' order; null alone.
    /// Every rank flushes at the same iterations, so this may run a collective.
    /// </summary>
    internal Func<List<string>, Dictionary<string, double>, (List<string>, Dictionary<string, double>)>? Reduce { get; set; }

    /// <summary>
    /// The iteration the next reports belong to, counted as <see cref="StatsRecord.Iteration"/> counts (iterations done
    /// when it ends); the trainer's step context sets it. Null until set: divergence is then placed between flushes.
    /// </summary>
    public long? CurrentIteration
    {
        get => _currentIteration;
        set
        {
            if (value == _currentIteration) return;
            _currentIteration = value;
            if (value is long it) _iterationStarts.Add((_seq, it));
        }
    }

    private long? IterationOf(double seq)
    {
        long? found = null;
        foreach (var (first, it) in _iterationStarts)
        {
            if (first > seq) break;
            found = it;
        }
        return found;
    }

    /// <summary>
    /// Adds a scalar tensor (detached; summed on the device until the next flush). The collector owns its
    /// accumulators outside every dispose scope, so helpers may report from inside their own nested scopes.
    /// </summary>
    public void Report(string name, Tensor value)
    {
        var v = value.detach().to_type(ScalarType.Float64);
        if (v.numel() != 1) v = v.mean();
        TrackNonFinite(name, v);
        if (_tensors.TryGetValue(name, out var acc))
        {
            var sum = acc.Sum.add(v);
            acc.Sum.Dispose();
            v.Dispose();
            _tensors[name] = (sum.DetachFromDisposeScope(), acc.Count + 1);
        }
        else
        {
            if (!_scalars.ContainsKey(name)) _order.Add(name);
            _tensors[name] = (v.DetachFromDisposeScope(), 1);
        }
    }

    /// <summary>Adds a value already on the host.</summary>
    public void Report(string name, double value)
    {
        long seq = _seq++;
        if (!double.IsFinite(value) && !_firstBadHost.ContainsKey(name)) _firstBadHost[name] = seq;
        if (_scalars.TryGetValue(name, out var acc)) _scalars[name] = (acc.Sum + value, acc.Count + 1);
        else
        {
            if (!_tensors.ContainsKey(name)) _order.Add(name);
            _scalars[name] = (value, 1);
        }
    }

    private void TrackNonFinite(string name, Tensor v)
    {
        // Five scalar kernels per report; they keep the order of divergence on the device until the next flush.
        long seq = _seq++;
        using var finite = v.isfinite().to_type(ScalarType.Float64);
        var candidate = finite.mul(BadNever).add_(seq);
        if (_firstBad.TryGetValue(name, out var prev))
        {
            var min = prev.minimum(candidate);
            prev.Dispose();
            candidate.Dispose();
            candidate = min;
        }
        _firstBad[name] = candidate.DetachFromDisposeScope();
    }

    /// <summary>
    /// The accumulated statistic that became NaN or infinite first in time, with its current mean and the iteration
    /// whose report it was (see <see cref="StatsRecord.FirstNonFiniteIteration"/>; a sync: call at log or save time
    /// only); null when every statistic is finite.
    /// </summary>
    public (string Name, double Value, long? Iteration)? FirstNonFinite()
    {
        (string Name, double Value, double Seq)? best = null;
        foreach (var name in _order)
        {
            double sum, seq;
            if (_tensors.TryGetValue(name, out var t))
            {
                sum = t.Sum.item<double>() / t.Count;
                if (double.IsFinite(sum)) continue;
                seq = _firstBad.TryGetValue(name, out var fb) ? fb.item<double>() : double.MaxValue;
            }
            else if (_scalars.TryGetValue(name, out var s))
            {
                sum = s.Sum / s.Count;
                if (double.IsFinite(sum)) continue;
                seq = _firstBadHost.TryGetValue(name, out long h) ? h : double.MaxValue;
            }
            else continue;
            if (best is null || seq < best.Value.Seq) best = (name, sum, seq);
        }
        return best is null ? null : (best.Value.Name, best.Value.Value, IterationOf(best.Value.Seq));
    }

    /// <summary>Means since the last flush, in first-reported order; resets the accumulators and notifies sinks.</summary>
    public StatsRecord Flush(int epoch, long epochImages, long iteration, double seconds)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        var ordered = new SortedDictionary<int, string>();
        foreach (var name in _order)
        {
            if (_tensors.TryGetValue(name, out var t))
            {
                values[name] = t.Sum.item<double>() / t.Count;
                t.Sum.Dispose();
            }
            else if (_scalars.TryGetValue(name, out var s))
            {
                values[name] = s.Sum / s.Count;
            }
        }
        var ordering = _order.Where(values.ContainsKey).ToList();
        if (Reduce is not null) (ordering, values) = Reduce(ordering, values);
        var result = new OrderedValues(ordering, values);
        string? firstBad = null;
        long? firstBadIteration = null;
        if (values.Values.Any(v => !double.IsFinite(v)))
        {
            // Name the term that diverged first in time; read only when something diverged (a rare extra sync).
            double bestSeq = double.MaxValue;
            foreach (var name in ordering)
            {
                if (double.IsFinite(values[name])) continue;
                double seq = _firstBad.TryGetValue(name, out var fb) ? fb.item<double>()
                    : _firstBadHost.TryGetValue(name, out long h) ? h : double.MaxValue - 1;
                if (seq < bestSeq)
                {
                    bestSeq = seq;
                    firstBad = name;
                }
            }
            firstBadIteration = IterationOf(bestSeq);
        }
        ClearFirstBad();
        _tensors.Clear();
        _scalars.Clear();
        _order.Clear();
        var record = new StatsRecord(epoch, epochImages, iteration, seconds, result)
        {
            FirstNonFinite = firstBad,
            FirstNonFiniteIteration = firstBadIteration,
        };
        foreach (var sink in _sinks) sink.OnStats(record);
        return record;
    }

    private void ClearFirstBad()
    {
        foreach (var t in _firstBad.Values) t.Dispose();
        _firstBad.Clear();
        _firstBadHost.Clear();
        _iterationStarts.Clear();
        // Reports after a flush and before the next iteration starts (an epoch's evaluation) belong to the current one.
        if (_currentIteration is long it) _iterationStarts.Add((_seq, it));
    }

    public void Dispose()
    {
        ClearFirstBad();
        foreach (var (sum, _) in _tensors.Values) sum.Dispose();
        _tensors.Clear();
        foreach (var s in _sinks.OfType<IDisposable>()) s.Dispose();
    }

    /// <summary>A read-only dictionary that enumerates in report order.</summary>
    private sealed class OrderedValues(List<string> order, Dictionary<string, double> values) : IReadOnlyDictionary<string, double>
    {
        public double this[string key] => values[key];
        public IEnumerable<string> Keys => order;
        public IEnumerable<double> Values => order.Select(k => values[k]);
        public int Count => order.Count;
        public bool ContainsKey(string key) => values.ContainsKey(key);
        public bool TryGetValue(string key, out double value) => values.TryGetValue(key, out value);
        public IEnumerator<KeyValuePair<string, double>> GetEnumerator() =>
            order.Select(k => new KeyValuePair<string, double>(k, values[k])).GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
