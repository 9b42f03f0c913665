using static TorchSharp.torch;

namespace GanSharp.Interop;

/// <summary>An ordered map of parameter/buffer name → tensor, as PyTorch's <c>state_dict()</c>.</summary>
public sealed class StateDict : IDisposable
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, Tensor> _map = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Keys => _order;
    public int Count => _order.Count;
    public Tensor this[string key] => _map[key];

    public void Add(string key, Tensor value)
    {
        if (!_map.TryAdd(key, value)) throw new ArgumentException($"duplicate state-dict key {key}", nameof(key));
        _order.Add(key);
    }

    public bool TryGetValue(string key, out Tensor value) => _map.TryGetValue(key, out value!);

    public bool ContainsKey(string key) => _map.ContainsKey(key);

    public IEnumerable<KeyValuePair<string, Tensor>> Entries => _order.Select(k => new KeyValuePair<string, Tensor>(k, _map[k]));

    /// <summary>
    /// Copies a module's state dict in PyTorch's order (per module: parameters, then buffers, then children), so files
    /// we write list their keys as <c>torch.save(model.state_dict())</c> does; detached clones, so later training
    /// does not change them.
    /// </summary>
    public static StateDict From(nn.Module module)
    {
        var sd = new StateDict();
        foreach (var (k, v) in Nn.TorchStateDict.Entries(module)) sd.Add(k, v.detach().clone());
        return sd;
    }

    public void Dispose()
    {
        foreach (var t in _map.Values) t.Dispose();
        _map.Clear();
        _order.Clear();
    }
}
