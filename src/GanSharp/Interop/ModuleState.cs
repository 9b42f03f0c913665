using static TorchSharp.torch;

namespace GanSharp.Interop;

/// <summary>What did not line up when a state dict was loaded into a module.</summary>
internal sealed record LoadReport(
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<(string Key, long[] Expected, long[] Found)> ShapeMismatches)
{
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    /// <summary>One sentence naming the first problems, for a user.</summary>
    public string Describe(string source, string network)
    {
        var parts = new List<string>();
        if (ShapeMismatches.Count > 0)
            parts.Add($"{ShapeMismatches.Count} shape mismatch(es), first {ShapeMismatches[0].Key} is [{string.Join(",", ShapeMismatches[0].Found)}] "
                + $"in the file but [{string.Join(",", ShapeMismatches[0].Expected)}] in {network}");
        if (Missing.Count > 0)
            parts.Add($"{Missing.Count} key(s) missing from the file ({string.Join(", ", Missing.Take(3))}{(Missing.Count > 3 ? ", ..." : "")})");
        if (Unexpected.Count > 0)
            parts.Add($"{Unexpected.Count} unexpected key(s) ({string.Join(", ", Unexpected.Take(3))}{(Unexpected.Count > 3 ? ", ..." : "")})");
        return $"{source} does not fit {network}: {string.Join("; ", parts)} — the options (label_nc, ngf, instance maps, don't-care label, VAE, "
            + $"norms) differ from those the checkpoint was trained with.";
    }
}

/// <summary>Loads state dicts into modules key for key, and reports mismatches by name.</summary>
internal static class ModuleState
{
    /// <summary>Compares without changing anything.</summary>
    public static LoadReport Check(nn.Module module, StateDict sd)
    {
        var own = module.state_dict();
        var missing = own.Keys.Where(k => !sd.ContainsKey(k) && !IsOldBatchNormCounter(k, sd)).ToList();
        var unexpected = sd.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var shapes = own
            .Where(kv => sd.ContainsKey(kv.Key) && !kv.Value.shape.SequenceEqual(sd[kv.Key].shape))
            .Select(kv => (kv.Key, kv.Value.shape, sd[kv.Key].shape))
            .ToList();
        return new LoadReport(missing, unexpected, shapes);
    }

    /// <summary>
    /// Batch norms saved before PyTorch 0.4.1 have no <c>num_batches_tracked</c>; PyTorch loads them with the counter at
    /// 0, and so does this (the statistics themselves must be there).
    /// </summary>
    private static bool IsOldBatchNormCounter(string key, StateDict sd) =>
        key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)
        && sd.ContainsKey(key[..^"num_batches_tracked".Length] + "running_mean");

    /// <summary>
    /// Copies every tensor of <paramref name="sd"/> into the module's parameters and buffers (in place, so optimizers
    /// that hold them stay valid). Refuses with one sentence when keys or shapes do not line up exactly.
    /// </summary>
    public static void Load(nn.Module module, StateDict sd, string source, string network)
    {
        var report = Check(module, sd);
        if (!report.IsExact) throw new GanSharpException(ErrorKind.Checkpoint, report.Describe(source, network));
        var own = module.state_dict();
        using var _ = no_grad();
        foreach (var (k, dst) in own)
        {
            if (!sd.ContainsKey(k))
            {
                dst.zero_(); // an old batch-norm counter (see IsOldBatchNormCounter)
                continue;
            }
            var src = sd[k];
            if (src.dtype != dst.dtype)
                throw new GanSharpException(ErrorKind.Checkpoint, $"{source} stores {k} as {src.dtype} but {network} keeps it as {dst.dtype}.");
            dst.copy_(src);
        }
    }
}
