using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace GanSharp.Evaluation;

/// <summary>
/// Real-image Inception features and statistics cached per folder, keyed by a hash of the folder's content and
/// of the protocol (resize mode, weights file), so a changed image or setting never reuses stale numbers.
/// Files are written through a temporary file and a rename.
/// </summary>
public sealed class RealStatsCache
{
    private const string Magic = "GANSHARP-FIDSTATS-1";

    public RealStatsCache(string directory) => Directory = directory;

    /// <summary>Default location: $XDG_CACHE_HOME/gansharp/fid-stats or ~/.cache/gansharp/fid-stats.</summary>
    public static string DefaultDirectory
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg;
            return Path.Combine(root, "gansharp", "fid-stats");
        }
    }

    public string Directory { get; }

    /// <summary>What a cache entry holds.</summary>
    public sealed record Entry(string Folder, int FileCount, string ContentHash, string Protocol, GaussianStats Stats, FeatureMatrix Pool3,
        FeatureMatrix Logits);

    /// <summary>SHA-256 over the sorted file names and their bytes: renaming, editing, adding or removing a file changes it.</summary>
    public static string ContentHash(IReadOnlyList<string> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var f in files.OrderBy(Path.GetFileName, StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(f) + "\0"));
            sha.AppendData(File.ReadAllBytes(f));
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    private string PathFor(string contentHash, string protocol)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(contentHash + "|" + protocol)))[..32].ToLowerInvariant();
        return Path.Combine(Directory, key + ".bin");
    }

    /// <summary>The cached entry for this content and protocol, or null.</summary>
    public Entry? TryLoad(string contentHash, string protocol)
    {
        var path = PathFor(contentHash, protocol);
        if (!File.Exists(path)) return null;
        try
        {
            using var r = new BinaryReader(File.OpenRead(path));
            if (r.ReadString() != Magic) return null;
            var meta = JsonSerializer.Deserialize<Meta>(r.ReadString());
            if (meta is null || meta.ContentHash != contentHash || meta.Protocol != protocol) return null;
            int d = meta.Dim, n = meta.FileCount;
            var mean = ReadDoubles(r, d);
            var cov = ReadDoubles(r, d * d);
            var pool = ReadDoubles(r, n * d);
            var logits = ReadDoubles(r, n * meta.LogitDim);
            return new Entry(meta.Folder, n, contentHash, protocol, new GaussianStats(n, d, mean, cov),
                new FeatureMatrix(n, d, pool), new FeatureMatrix(n, meta.LogitDim, logits));
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or JsonException)
        {
            return null;   // a damaged cache file is recomputed, never trusted
        }
    }

    /// <summary>Stores an entry atomically.</summary>
    public void Save(Entry e)
    {
        var meta = new Meta(e.Folder, e.FileCount, e.ContentHash, e.Protocol, e.Stats.Dim, e.Logits.Cols);
        AtomicFile.Write(PathFor(e.ContentHash, e.Protocol), s =>
        {
            using var w = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(JsonSerializer.Serialize(meta));
            WriteDoubles(w, e.Stats.Mean);
            WriteDoubles(w, e.Stats.Covariance);
            // the network computes in float32, so storing features as float32 loses nothing
            WriteFloats(w, e.Pool3.Data);
            WriteFloats(w, e.Logits.Data);
        });
    }

    private sealed record Meta(string Folder, int FileCount, string ContentHash, string Protocol, int Dim, int LogitDim);

    private static void WriteDoubles(BinaryWriter w, double[] v)
    {
        w.Write((byte)8);
        foreach (var x in v) w.Write(x);
    }

    private static void WriteFloats(BinaryWriter w, double[] v)
    {
        w.Write((byte)4);
        foreach (var x in v) w.Write((float)x);
    }

    private static double[] ReadDoubles(BinaryReader r, int n)
    {
        byte width = r.ReadByte();
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = width == 8 ? r.ReadDouble() : r.ReadSingle();
        return v;
    }
}
