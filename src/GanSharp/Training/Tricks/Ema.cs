using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>Exponential moving average of a network's weights (a shadow copy used for sampling and evaluation).</summary>
internal static class Ema
{
    /// <summary>shadow ← β·shadow + (1 − β)·live for parameters; buffers (BN statistics) are copied.</summary>
    public static void Update(nn.Module shadow, nn.Module live, double beta)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var liveParams = live.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in shadow.named_parameters()) p.lerp_(liveParams[name], 1 - beta);
        var liveBuffers = live.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, b) in shadow.named_buffers()) b.copy_(liveBuffers[name]);
    }

    /// <summary>Makes the shadow an exact copy of the live network (at the start of a run).</summary>
    public static void CopyFrom(nn.Module shadow, nn.Module live) => Update(shadow, live, 0.0);
}
