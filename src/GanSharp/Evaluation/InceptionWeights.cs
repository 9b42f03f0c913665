using static TorchSharp.torch;

namespace GanSharp.Evaluation;

/// <summary>Where the FID Inception's parameters come from.</summary>
public static class InceptionWeights
{
    /// <summary>File name of pytorch-fid's port of TF's 2015-12-05 Inception weights.</summary>
    public const string FileName = "pt_inception-2015-12-05-6726825d.pth";

    /// <summary>Environment variable consulted when no weights path is given.</summary>
    public const string EnvironmentVariable = "GANSHARP_INCEPTION_WEIGHTS";

    /// <summary>Where users download the weights (the pytorch-fid release asset).</summary>
    public const string DownloadUrl = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FileName;

    /// <summary>The weights path from the option, else from <see cref="EnvironmentVariable"/>, else null.</summary>
    public static string? Resolve(string? optionValue)
    {
        if (!string.IsNullOrWhiteSpace(optionValue)) return optionValue;
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(env) ? null : env;
    }

    /// <summary>Builds the network and loads the standard weights from <paramref name="path"/>.</summary>
    public static FidInceptionV3 LoadPretrained(string? path)
    {
        if (path is null || !File.Exists(path))
            throw new GanSharpException(ErrorKind.BadInput,
                (path is null ? "FID, KID, IS and precision/recall need the Inception weights" : $"the Inception weights file {path} does not exist")
                + $": download {FileName} from {DownloadUrl} and pass it with --inception-weights or {EnvironmentVariable}.");
        var net = new FidInceptionV3();
        try
        {
            using var state = ReadPth(path);
            LoadStateDict(net, state);
        }
        catch
        {
            net.Dispose();
            throw;
        }
        return net;
    }

    /// <summary>
    /// The one place that reads the weights: pytorch-fid's .pth (through the restricted, code-free reader) or a
    /// safetensors copy of it.
    /// </summary>
    private static Interop.StateDict ReadPth(string path) => Interop.WeightsFile.ReadStateDict(path);

    /// <summary>
    /// Copies every tensor of <paramref name="state"/> into the network; names and shapes must match. BatchNorm's
    /// num_batches_tracked may be absent (files saved before PyTorch 0.4.1 lack it, and eval never reads it).
    /// </summary>
    internal static void LoadStateDict(nn.Module net, Interop.StateDict state)
    {
        using var _ = no_grad();
        var own = net.state_dict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k) && !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
        if (missing.Count > 0)
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"the Inception weights lack {missing.Count} tensors (first: {missing[0]}): use the original {FileName}.");
        foreach (var (key, target) in own)
        {
            if (!state.TryGetValue(key, out var src)) continue;
            if (!src.shape.SequenceEqual(target.shape))
                throw new GanSharpException(ErrorKind.Checkpoint,
                    $"the Inception weight {key} has shape [{string.Join(", ", src.shape)}] instead of [{string.Join(", ", target.shape)}]: use the "
                        + $"original {FileName}.");
            target.copy_(src);
        }
    }
}

/// <summary>
/// Fills every parameter and buffer from a formula of (parameter name, flat element index), so that tests can
/// compare against the PyTorch architecture without shipping 95 MB of weights. The Python fixture script computes
/// the same integers; only the final scaling to float can differ, by at most one float ulp.
/// </summary>
internal static class DeterministicWeights
{
    public static void Fill(nn.Module net)
    {
        using var _ = no_grad();
        foreach (var (name, t) in net.state_dict())
        {
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            var values = Values(name, t.shape);
            using var src = tensor(values).reshape(t.shape);
            t.copy_(src);
        }
    }

    public static uint Fnv1a(string name)
    {
        uint h = 0x811C9DC5;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(name))
        {
            h ^= b;
            h = unchecked(h * 0x01000193);
        }
        return h;
    }

    /// <summary>Uniform in [-1, 1): murmur3's finaliser over (index · golden ratio + name hash).</summary>
    public static double Unit(uint nameHash, long index)
    {
        uint x = unchecked((uint)index * 0x9E3779B1u + nameHash);
        x ^= x >> 16;
        x = unchecked(x * 0x85EBCA6Bu);
        x ^= x >> 13;
        x = unchecked(x * 0xC2B2AE35u);
        x ^= x >> 16;
        return x / 4294967296.0 * 2.0 - 1.0;
    }

    public static float[] Values(string name, long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        uint h = Fnv1a(name);
        string leaf = name[(name.LastIndexOf('.') + 1)..];
        var result = new float[n];
        for (long i = 0; i < n; i++)
        {
            double u = Unit(h, i);
            double v = leaf switch
            {
                // He-scaled uniform keeps activations O(1) through 94 ReLU layers
                "weight" when shape.Length == 4 => u * Math.Sqrt(6.0 / (shape[1] * shape[2] * shape[3])),
                "weight" when shape.Length == 2 => u * Math.Sqrt(3.0 / shape[1]),
                "weight" => 1.0 + 0.1 * u,
                "running_var" => 1.0 + 0.25 * (u + 1.0),
                "bias" or "running_mean" => 0.1 * u,
                _ => throw new InvalidOperationException($"no deterministic rule for {name}"),
            };
            result[i] = (float)v;
        }
        return result;
    }
}
