using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using GanSharp.Training;

namespace GanSharp.Diagnostics;

/// <summary>The statistics of a run as read back from its folder.</summary>
/// <param name="RunDir">The run folder.</param>
/// <param name="Source">The file the records came from (stats.jsonl, or loss_log.txt when there is no JSONL).</param>
/// <param name="Records">The records in file order.</param>
/// <param name="SkippedLines">Lines that could not be read (a partial last line of a run still being written, or a line cut by a crash).</param>
/// <param name="XLabel">What <see cref="StatsRecord.Iteration"/> counts in this source.</param>
public sealed record RunLog(string RunDir, string Source, IReadOnlyList<StatsRecord> Records, int SkippedLines, string XLabel);

/// <summary>
/// Reads a run folder's statistics: our <c>stats.jsonl</c> (every statistic), or else a <c>loss_log.txt</c> in the
/// reference's format (losses only; this is how a run of NVlabs/SPADE is diagnosed). Files are opened for shared
/// reading, so a run that is still writing them, or one that crashed mid-line, can be read.
/// </summary>
internal static partial class RunLogReader
{
    /// <summary>Reads the run folder (or a loss_log.txt / stats.jsonl file given directly).</summary>
    public static RunLog Read(string path)
    {
        if (File.Exists(path))
        {
            string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            return path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? FromJsonl(dir, path) : FromLossLog(dir, path);
        }
        if (!Directory.Exists(path))
            throw new GanSharpException(ErrorKind.BadInput, $"{path} does not exist: pass a run folder such as checkpoints/<name>.");
        string jsonl = Path.Combine(path, "stats.jsonl");
        string lossLog = Path.Combine(path, "loss_log.txt");
        if (File.Exists(jsonl) && new FileInfo(jsonl).Length > 0) return FromJsonl(path, jsonl);
        if (File.Exists(lossLog)) return FromLossLog(path, lossLog);
        throw new GanSharpException(ErrorKind.BadInput,
            $"{path} has neither stats.jsonl nor loss_log.txt: pass a run folder such as checkpoints/<name> (one that has logged at least once).");
    }

    private static RunLog FromJsonl(string dir, string file)
    {
        var records = ParseJsonl(ReadLines(file), out int skipped);
        return new RunLog(dir, file, records, skipped, "iteration");
    }

    private static RunLog FromLossLog(string dir, string file)
    {
        var records = ParseLossLog(ReadLines(file), out int skipped);
        return new RunLog(dir, file, records, skipped, "images seen");
    }

    private static List<string> ReadLines(string file)
    {
        // FileShare.ReadWrite|Delete: the trainer may be appending (or the file replaced) while we read.
        using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(fs);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines;
    }

    /// <summary>Parses stats.jsonl lines; unreadable lines are counted in <paramref name="skipped"/>, not fatal.</summary>
    public static List<StatsRecord> ParseJsonl(IEnumerable<string> lines, out int skipped)
    {
        skipped = 0;
        var records = new List<StatsRecord>();
        foreach (var line in lines)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new JsonException("not an object");
                int epoch = 0;
                long epochIter = 0, iteration = 0;
                double time = 0;
                string? firstBad = null;
                long? firstBadIteration = null;
                var values = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var p in root.EnumerateObject())
                {
                    switch (p.Name)
                    {
                        case "epoch": epoch = p.Value.GetInt32(); break;
                        case "epoch_iter": epochIter = p.Value.GetInt64(); break;
                        case "iteration": iteration = p.Value.GetInt64(); break;
                        case "time": time = p.Value.GetDouble(); break;
                        case JsonlSink.FirstNonFiniteKey: firstBad = p.Value.GetString(); break;
                        case JsonlSink.FirstNonFiniteIterationKey: firstBadIteration = p.Value.GetInt64(); break;
                        default:
                            if (p.Value.ValueKind == JsonValueKind.Number) values[p.Name] = p.Value.GetDouble();
                            else if (p.Value.ValueKind == JsonValueKind.String
                                && ParseNonFinite(p.Value.GetString()) is double nf) values[p.Name] = nf;
                            break;
                    }
                }
                records.Add(new StatsRecord(epoch, epochIter, iteration, time, values)
                {
                    FirstNonFinite = firstBad,
                    FirstNonFiniteIteration = firstBadIteration
                });
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                skipped++;
            }
        }
        return records;
    }

    [GeneratedRegex(@"^\(epoch: (\d+), iters: (\d+), time: ([^)]*)\)(.*)$")]
    private static partial Regex LossLine();

    /// <summary>
    /// Parses loss_log.txt lines of the reference's format
    /// <c>(epoch: E, iters: I, time: T) GAN: x GAN_Feat: x VGG: x D_Fake: x D_real: x</c>; headers are skipped. The
    /// reference counts iters in images within the epoch, so the record's iteration is the number of images seen,
    /// taking each finished epoch's size from the largest iters logged in it.
    /// </summary>
    public static List<StatsRecord> ParseLossLog(IEnumerable<string> lines, out int skipped)
    {
        skipped = 0;
        var records = new List<StatsRecord>();
        var epochSize = new Dictionary<int, long>();
        var parsed = new List<(int Epoch, long Iters, double Time, Dictionary<string, double> Values)>();
        foreach (var raw in lines)
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("====", StringComparison.Ordinal)) continue;
            var m = LossLine().Match(line);
            if (!m.Success)
            {
                skipped++;
                continue;
            }
            var tokens = m.Groups[4].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            bool ok = tokens.Length % 2 == 0;
            for (int k = 0; ok && k + 1 < tokens.Length; k += 2)
            {
                if (!tokens[k].EndsWith(':') || ParseNumber(tokens[k + 1]) is not double v)
                {
                    ok = false;
                    break;
                }
                values[tokens[k][..^1]] = v;
            }
            int epoch = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            long iters = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            if (!ok || ParseNumber(m.Groups[3].Value.Trim()) is not double time)
            {
                skipped++;
                continue;
            }
            epochSize[epoch] = Math.Max(epochSize.GetValueOrDefault(epoch), iters);
            parsed.Add((epoch, iters, time, values));
        }
        long known = epochSize.Count > 0 ? epochSize.Values.Max() : 0;
        foreach (var (epoch, iters, time, values) in parsed)
        {
            long before = 0;
            for (int e = 1; e < epoch; e++) before += epochSize.GetValueOrDefault(e, known);
            records.Add(new StatsRecord(epoch, iters, before + iters, time, values));
        }
        return records;
    }

    private static double? ParseNumber(string s)
    {
        if (ParseNonFinite(s) is double nf) return nf;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;
    }

    // Python prints nan/inf, .NET NaN/Infinity (and JSON carries them as strings).
    private static double? ParseNonFinite(string? s) => s?.ToLowerInvariant() switch
    {
        "nan" or "-nan" => double.NaN,
        "inf" or "infinity" or "+inf" or "+infinity" => double.PositiveInfinity,
        "-inf" or "-infinity" => double.NegativeInfinity,
        _ => null,
    };
}
