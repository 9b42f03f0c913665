using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace GanSharp.Data;

/// <summary>What the up-front scan learnt about one file; cached by (path, length, modification time).</summary>
internal sealed record FileFacts
{
    public long Length { get; init; }
    public long MtimeTicks { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public LabelFileKind? Kind { get; init; }

    /// <summary>Distinct values of a label map, ascending; null for photos and instance maps.</summary>
    public int[]? Values { get; init; }
}

/// <summary>
/// Reads every label map and photo once (in parallel), the headers of instance maps, and keeps the facts in a
/// small JSON cache so the next run over unchanged files costs a stat per file.
/// </summary>
internal sealed class DatasetScan
{
    // 2: photos are decoded in full (version 1 read their headers only, so its entries prove nothing).
    private const int CacheVersion = 2;
    private readonly ConcurrentDictionary<string, FileFacts> _facts;
    private readonly string? _cacheFile;
    private int _hits;

    private DatasetScan(string? cacheFile, ConcurrentDictionary<string, FileFacts> facts)
    {
        _cacheFile = cacheFile;
        _facts = facts;
    }

    /// <summary>Files whose facts came from the cache in the last <see cref="Run"/>.</summary>
    public int CacheHits => _hits;

    /// <summary>The cache file used, or null when caching is off.</summary>
    public string? CacheFile => _cacheFile;

    /// <summary>
    /// Opens the cache for a label folder: <c>$GANSHARP_CACHE_DIR</c>, else <c>$XDG_CACHE_HOME/gansharp</c>, else
    /// <c>~/.cache/gansharp</c>, unless <paramref name="cacheDirectory"/> says otherwise; "" turns caching off.
    /// The cache lives outside the data folders because those are often read-only or shared.
    /// </summary>
    public static DatasetScan Open(string labelDir, string? cacheDirectory = null)
    {
        string? dir = cacheDirectory ?? DefaultCacheDirectory();
        if (string.IsNullOrEmpty(dir)) return new DatasetScan(null, new ConcurrentDictionary<string, FileFacts>(StringComparer.Ordinal));
        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(labelDir))))[..16].ToLowerInvariant();
        string file = Path.Combine(dir, $"scan-{key}.json");
        var facts = new ConcurrentDictionary<string, FileFacts>(StringComparer.Ordinal);
        try
        {
            if (File.Exists(file))
            {
                var stored = JsonSerializer.Deserialize<CacheContent>(File.ReadAllText(file));
                if (stored is { Version: CacheVersion, Files: not null })
                    foreach (var kv in stored.Files) facts[kv.Key] = kv.Value;
            }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            // A damaged or unreadable cache only costs a rescan.
        }
        return new DatasetScan(file, facts);
    }

    private static string? DefaultCacheDirectory()
    {
        string? env = Environment.GetEnvironmentVariable("GANSHARP_CACHE_DIR");
        if (env is not null) return env;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "gansharp");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "gansharp");
    }

    private sealed record CacheContent(int Version, Dictionary<string, FileFacts>? Files);

    /// <summary>What a scanned file is, which decides how much of it is read.</summary>
    public enum Role { Label, Image, Instance }

    /// <summary>
    /// Gathers facts for every (path, role) in parallel; returns them keyed by path. A file named in two roles (the
    /// label folder given as instance folder too, as the studio does) is read once, in the role that reads the most.
    /// </summary>
    public IReadOnlyDictionary<string, FileFacts> Run(IEnumerable<(string Path, Role Role)> files, Action<int, int>? progress = null)
    {
        _hits = 0;
        var roles = new Dictionary<string, Role>(StringComparer.Ordinal);
        foreach (var (path, role) in files)
            roles[path] = roles.TryGetValue(path, out var had) && Reads(had) > Reads(role) ? had : role;
        var list = roles.Select(kv => (Path: kv.Key, Role: kv.Value)).ToList();
        var result = new ConcurrentDictionary<string, FileFacts>(StringComparer.Ordinal);
        int done = 0;
        Exception? first = null;
        Parallel.ForEach(list, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, (f, state) =>
        {
            try
            {
                var info = new FileInfo(f.Path);
                if (!info.Exists)
                    throw new GanSharpException(ErrorKind.BadInput,
                        $"{f.Path} disappeared during the scan: check that nothing else is changing the data folders.");
                long mtime = info.LastWriteTimeUtc.Ticks;
                if (_facts.TryGetValue(f.Path, out var cached) && cached.Length == info.Length && cached.MtimeTicks == mtime
                    && (f.Role != Role.Label || cached.Values is not null))
                {
                    Interlocked.Increment(ref _hits);
                    result[f.Path] = cached;
                }
                else
                {
                    var facts = Inspect(f.Path, f.Role) with { Length = info.Length, MtimeTicks = mtime };
                    _facts[f.Path] = facts;
                    result[f.Path] = facts;
                }
                progress?.Invoke(Interlocked.Increment(ref done), list.Count);
            }
            catch (Exception e)
            {
                var named = e is GanSharpException or not (IOException or UnauthorizedAccessException)
                    ? e
                    : new GanSharpException(ErrorKind.BadInput, $"{f.Path} cannot be read ({e.Message}): check that it exists and is readable.", e);
                Interlocked.CompareExchange(ref first, named, null);
                state.Stop();
            }
        });
        if (first is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        Save();
        return result;
    }

    // A label read decodes the whole file and refuses colour as an instance read does, so it answers for both; an
    // instance read checks the kind a photo read does not.
    private static int Reads(Role role) => role switch { Role.Label => 2, Role.Instance => 1, _ => 0 };

    private void Save()
    {
        if (_cacheFile is null) return;
        try
        {
            var content = new CacheContent(CacheVersion, new Dictionary<string, FileFacts>(_facts, StringComparer.Ordinal));
            AtomicFile.WriteAllText(_cacheFile, JsonSerializer.Serialize(content));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No cache is a slower next start, not an error.
        }
    }

    private static FileFacts Inspect(string path, Role role)
    {
        switch (role)
        {
            case Role.Label:
                {
                    var (map, kind) = ReadLabelForScan(path);
                    return new FileFacts { Width = map.Width, Height = map.Height, Kind = kind, Values = Distinct(map.Values) };
                }
            case Role.Instance:
                {
                    var (w, h, kind) = LabelIO.ReadInfo(path);
                    if (kind == LabelFileKind.Colour)
                        throw LabelIO.ColourError(path, PngCodec.ReadHeader(path).ColorType);
                    return new FileFacts { Width = w, Height = h, Kind = kind };
                }
            default:
                {
                    // Decoded in full, not just the header: a truncated photo has an intact header, and the loader
                    // would meet it only hours into training (the cache makes this a one-time cost per file).
                    var (w, h) = ImageIO.Verify(path);
                    return new FileFacts { Width = w, Height = h };
                }
        }
    }

    private static (LabelMap, LabelFileKind) ReadLabelForScan(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is ".jpg" or ".jpeg" or ".webp" or ".bmp" or ".gif")
            throw new GanSharpException(ErrorKind.Data,
                $"{path} is a {ext.TrimStart('.').ToUpperInvariant()} file, but label maps must be PNG (or .npy) so class values survive: export the "
                    + $"labels as gray or palette PNG.");
        return LabelIO.ReadWithKind(path);
    }

    private static int[] Distinct(int[] values)
    {
        int max = 0;
        foreach (int v in values)
        {
            if (v < 0) return values.Distinct().Order().ToArray();
            if (v > max) max = v;
        }
        if (max > 1 << 20) return values.Distinct().Order().ToArray();
        var seen = new bool[max + 1];
        foreach (int v in values) seen[v] = true;
        var list = new List<int>();
        for (int i = 0; i <= max; i++) if (seen[i]) list.Add(i);
        return list.ToArray();
    }
}
