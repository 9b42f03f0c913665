using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Diagnostics;

/// <summary>
/// Family-agnostic statistics of the networks an optimizer updates, taken by the trainer between backward and step
/// in iterations that end with a flush: gradient norms (total and per block), weight norm, and the largest singular
/// value of every weight matrix or convolution kernel. Everything stays on the device until the flush.
/// </summary>
/// <remarks>
/// Names: <c>grad/&lt;net&gt;</c>, <c>grad/&lt;net&gt;/&lt;block&gt;</c>, <c>weight/&lt;net&gt;</c>,
/// <c>sigma/&lt;net&gt;/&lt;parameter&gt;</c> and <c>sigma_max/&lt;net&gt;</c>, where net is the checkpoint name
/// (G, D, E) and a block is a top-level child module (the children of a lone top-level container, so that a network
/// wrapped in one Sequential still gets one norm per layer).
/// </remarks>
internal sealed class NetworkStatistics : IDisposable
{
    private readonly Dictionary<string, List<NetworkSlot>> _networksByOptimizer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _u = new(StringComparer.Ordinal);

    /// <summary>Maps each optimizer to the networks whose parameters it updates.</summary>
    public NetworkStatistics(IReadOnlyList<NetworkSlot> networks, IReadOnlyList<OptimizerSlot> optimizers)
    {
        foreach (var opt in optimizers)
        {
            var handles = opt.Parameters.Select(p => p.Handle).ToHashSet();
            _networksByOptimizer[opt.Name] = networks.Where(n => n.Module.parameters().Any(p => handles.Contains(p.Handle))).ToList();
        }
    }

    /// <summary>
    /// Power iterations per report. The left singular vector persists between reports, so a few iterations per log
    /// interval track the largest singular value as the weights drift.
    /// </summary>
    public int PowerIterations { get; init; } = 3;

    /// <summary>Reports the statistics of the networks that <paramref name="optimizer"/> updates (after backward).</summary>
    public void Report(string optimizer, StatsCollector stats)
    {
        if (!_networksByOptimizer.TryGetValue(optimizer, out var nets)) return;
        using var _ = no_grad();
        foreach (var net in nets) Report(net, stats);
    }

    /// <summary>Reports the statistics of one network (its gradients as they are now).</summary>
    public void Report(NetworkSlot net, StatsCollector stats)
    {
        using var _ = no_grad();
        var named = net.Module.named_parameters().ToList();
        int depth = BlockDepth(net.Module);
        Tensor? gradTotal = null;
        Tensor? weightTotal = null;
        Tensor? sigmaMax = null;
        foreach (var block in named.GroupBy(p => BlockName(p.name, depth)))
        {
            Tensor? blockSq = null;
            foreach (var (_, p) in block)
            {
                var g = p.grad;
                if (g is null) continue;
                var sq = g.square().sum();
                blockSq = blockSq is null ? sq : blockSq.add(sq);
            }
            if (blockSq is null) continue;
            stats.Report($"grad/{net.Name}/{block.Key}", blockSq.sqrt());
            gradTotal = gradTotal is null ? blockSq : gradTotal.add(blockSq);
        }
        foreach (var (name, p) in named)
        {
            var sq = p.square().sum();
            weightTotal = weightTotal is null ? sq : weightTotal.add(sq);
            if (p.dim() < 2) continue;
            var sigma = LargestSingularValue($"{net.Name}/{name}", p);
            stats.Report($"sigma/{net.Name}/{name}", sigma);
            sigmaMax = sigmaMax is null ? sigma : sigmaMax.maximum(sigma);
        }
        if (gradTotal is not null) stats.Report($"grad/{net.Name}", gradTotal.sqrt());
        if (weightTotal is not null) stats.Report($"weight/{net.Name}", weightTotal.sqrt());
        if (sigmaMax is not null) stats.Report($"sigma_max/{net.Name}", sigmaMax);
    }

    /// <summary>
    /// The largest singular value of a weight reshaped to [out, in·k·k] (as spectral normalisation sees it), by power
    /// iteration from the vector kept for <paramref name="key"/>.
    /// </summary>
    public Tensor LargestSingularValue(string key, Tensor weight)
    {
        using var _ = no_grad();
        var w = weight.detach().reshape(weight.shape[0], -1).to_type(ScalarType.Float32); // [out, in*k*k]
        if (!_u.TryGetValue(key, out var u))
        {
            // A private generator (drawing from the global stream would change the training run being observed),
            // seeded by the key so the start does not depend on which vectors a resumed run already had.
            using var generator = new Generator(20261125UL ^ StableHash(key));
            using var init = randn([w.shape[0]], generator: generator);
            u = nn.functional.normalize(init.to(w.device), dim: 0).DetachFromDisposeScope();
        }
        Tensor v = nn.functional.normalize(w.t().mv(u), dim: 0);
        for (int i = 0; i < Math.Max(1, PowerIterations); i++)
        {
            var next = nn.functional.normalize(w.mv(v), dim: 0);
            u.Dispose();
            u = next.DetachFromDisposeScope();
            v = nn.functional.normalize(w.t().mv(u), dim: 0);
        }
        _u[key] = u;
        return u.dot(w.mv(v));
    }

    /// <summary>The power-iteration vectors, for a checkpoint: a resumed run then logs the same estimates as an uninterrupted one.</summary>
    public Dictionary<object, object?> State()
    {
        var state = new Dictionary<object, object?>();
        foreach (var (key, u) in _u) state[key] = u.cpu().clone();
        return state;
    }

    public void Load(Dictionary<object, object?>? state)
    {
        if (state is null) return;
        foreach (var (key, value) in state)
        {
            if (key is not string k || value is not Tensor u) continue;
            if (_u.Remove(k, out var old)) old.Dispose();
            _u[k] = u.clone().DetachFromDisposeScope();
        }
    }

    // FNV-1a: string.GetHashCode differs between processes.
    private static ulong StableHash(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) h = (h ^ c) * 1099511628211UL;
        return h;
    }

    // A network that wraps everything in one container would otherwise get a single block.
    private static int BlockDepth(nn.Module module)
    {
        var children = module.named_children().ToList();
        return children.Count == 1 && children[0].module.named_children().Any() ? 2 : 1;
    }

    private static string BlockName(string parameter, int depth)
    {
        var parts = parameter.Split('.');
        if (parts.Length <= 1) return "(own)";
        return string.Join('.', parts.Take(Math.Min(depth, parts.Length - 1)));
    }

    public void Dispose()
    {
        foreach (var u in _u.Values) u.Dispose();
        _u.Clear();
    }
}
