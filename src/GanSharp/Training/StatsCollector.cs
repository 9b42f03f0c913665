using static TorchSharp.torch;

namespace GanSharp.Training;

/// <summary>A set of named statistics at one point of a run.</summary>
public sealed record StatsRecord(int Epoch, long EpochImages, long Iteration, double Seconds, IReadOnlyDictionary<string, double> Values);

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

    public void Subscribe(IStatsSink sink) => _sinks.Add(sink);

    public IReadOnlyList<IStatsSink> Sinks => _sinks;

    /// <summary>Adds a scalar tensor (detached; summed on the device until the next flush).</summary>
    public void Report(string name, Tensor value)
    {
        var v = value.detach().to_type(ScalarType.Float64);
        if (v.numel() != 1) v = v.mean();
        if (_tensors.TryGetValue(name, out var acc))
        {
            var sum = acc.Sum.add(v);
            acc.Sum.Dispose();
            v.Dispose();
            _tensors[name] = (sum.MoveToOuterDisposeScope(), acc.Count + 1);
        }
        else
        {
            if (!_scalars.ContainsKey(name)) _order.Add(name);
            _tensors[name] = (v.MoveToOuterDisposeScope(), 1);
        }
    }

    /// <summary>Adds a value already on the host.</summary>
    public void Report(string name, double value)
    {
        if (_scalars.TryGetValue(name, out var acc)) _scalars[name] = (acc.Sum + value, acc.Count + 1);
        else
        {
            if (!_tensors.ContainsKey(name)) _order.Add(name);
            _scalars[name] = (value, 1);
        }
    }

    /// <summary>The first accumulated statistic that is NaN or infinite (a sync; call at save time only).</summary>
    public (string Name, double Value)? FirstNonFinite()
    {
        foreach (var name in _order)
        {
            if (_tensors.TryGetValue(name, out var t))
            {
                double v = t.Sum.item<double>();
                if (!double.IsFinite(v)) return (name, v);
            }
            else if (_scalars.TryGetValue(name, out var s) && !double.IsFinite(s.Sum))
            {
                return (name, s.Sum);
            }
        }
        return null;
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
        var result = new OrderedValues(ordering, values);
        _tensors.Clear();
        _scalars.Clear();
        _order.Clear();
        var record = new StatsRecord(epoch, epochImages, iteration, seconds, result);
        foreach (var sink in _sinks) sink.OnStats(record);
        return record;
    }

    public void Dispose()
    {
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
        public IEnumerator<KeyValuePair<string, double>> GetEnumerator() => order.Select(k => new KeyValuePair<string, double>(k, values[k])).GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
