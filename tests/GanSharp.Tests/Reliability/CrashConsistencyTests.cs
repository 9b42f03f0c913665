using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GanSharp.Interop;
using GanSharp.Training;
using TorchSharp;

namespace GanSharp.Tests.Reliability;

/// <summary>
/// <c>gansharp train</c> as a child process, killed (SIGKILL, as kill -9) at 20 points spread over its checkpoint
/// writes — inside a file, after a file, at the commit, between renames — then resumed to the same end: every end
/// state must equal the uninterrupted run's bit for bit, with no temporary file, journal or lock left behind.
/// </summary>
[Collection("torch-global-rng")]
public partial class CrashConsistencyTests
{
    private const int Iterations = 4;

    [Fact]
    public void KilledAtTwentyPointsOfItsCheckpointWritesEveryRunResumesToTheUninterruptedEnd()
    {
        using var tiny = new TinySpade();
        string ck = tiny.Checkpoints;
        string[] Args(string name, params string[] more) =>
            tiny.Train(ck, ["--name", name, "--max-iterations", Iterations.ToString(), "--threads", "1", .. more]);

        var (code, _, points) = Child(Args("straight"), FaultPoints.Variable, "list");
        Assert.Equal(0, code);
        var pointList = FaultLine().Matches(points).Select(m => m.Groups[1].Value).ToList();
        // Three saves (iterations 2 and 4, and the stop at 4), each: state, G, D, iter.txt, options, opt.txt, manifest, journal, renames.
        Assert.True(pointList.Count >= 60, $"only {pointList.Count} fault points:\n{points}");
        var killAt = Enumerable.Range(0, 20).Select(k => 1 + (int)Math.Round(k * (pointList.Count - 1) / 19.0)).Distinct().ToList();
        Assert.Equal(20, killAt.Count);
        Assert.Contains(killAt, p => pointList[p - 1].StartsWith("inside", StringComparison.Ordinal));
        Assert.Contains(killAt, p => pointList[p - 1].StartsWith("renamed", StringComparison.Ordinal));

        var expected = EndState(Path.Combine(ck, "straight"));
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(killAt, new ParallelOptions { MaxDegreeOfParallelism = 2 }, p =>
        {
            string name = "k" + p;
            string dir = Path.Combine(ck, name);
            var killed = Child(Args(name), FaultPoints.Variable, p.ToString());
            if (killed.Code == 0) failures.Add($"point {p} ({pointList[p - 1]}): the run was not killed");
            bool resumable = File.Exists(Path.Combine(dir, "latest_state.pth")) || File.Exists(Path.Combine(dir, RunFolder.JournalName));
            var resumed = Child(resumable ? Args(name, "--continue-train") : Args(name));
            if (resumed.Code != 0)
            {
                failures.Add($"point {p} ({pointList[p - 1]}): resume exit {resumed.Code}: {resumed.Output}");
                return;
            }
            string? leftover = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .FirstOrDefault(f => AtomicFile.IsTempName(Path.GetFileName(f))
                    || Path.GetFileName(f) is RunFolder.JournalName or RunLock.FileName or RunLock.OwnerFileName);
            if (leftover != null) failures.Add($"point {p} ({pointList[p - 1]}): {leftover} left behind");
            string? differs = Compare(expected, EndState(dir));
            if (differs != null) failures.Add($"point {p} ({pointList[p - 1]}): {differs}");
        });
        Assert.True(failures.IsEmpty, string.Join("\n", failures));
    }

    /// <summary>Everything a run folder ends with that must not depend on being killed: files, tensors, log entries.</summary>
    private static SortedDictionary<string, string> EndState(string dir)
    {
        var s = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in new[] { "latest_net_G.pth", "latest_net_D.pth", "iter.txt", "latest_checkpoint.json" })
            s[f] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, f))));
        var root = (Dictionary<object, object?>)PthReader.Read(Path.Combine(dir, "latest_state.pth"))!;
        foreach (var (k, v) in root)
        {
            string key = "state." + k;
            switch ((string)k)
            {
                case "elapsed_seconds" or "logs":
                    continue; // wall-clock time and the byte lengths of logs that carry it
                case "options":
                    var o = JsonNode.Parse((string)v!)!.AsObject();
                    o["run"]!.AsObject().Remove("continue_train");
                    o["run"]!.AsObject().Remove("name");
                    o["run"]!.AsObject().Remove("run_dir");
                    s[key] = o.ToJsonString();
                    break;
                default:
                    s[key] = Describe(v);
                    break;
            }
        }
        s["stats.jsonl"] = string.Join("\n", File.ReadLines(Path.Combine(dir, "stats.jsonl")).Select(l =>
        {
            var o = JsonNode.Parse(l)!.AsObject();
            o.Remove("time");
            return o.ToJsonString();
        }));
        s["loss_log.txt"] = TimeField().Replace(File.ReadAllText(Path.Combine(dir, "loss_log.txt")), "time: T)");
        s["loss_log.txt"] = HeaderDate().Replace(s["loss_log.txt"], "(DATE)");
        return s;
    }

    private static string Describe(object? v) => v switch
    {
        torch.Tensor t => Convert.ToHexString(PthWriter.TensorBytes(t)),
        OrderedDict od => string.Join(";", od.Keys.Select(k => $"{k}={Describe(od[k])}")),
        Dictionary<object, object?> d =>
            string.Join(";", d.OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal).Select(kv => $"{kv.Key}={Describe(kv.Value)}")),
        System.Collections.IEnumerable e and not string => "[" + string.Join(",", e.Cast<object?>().Select(Describe)) + "]",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "null",
    };

    private static string? Compare(SortedDictionary<string, string> expected, SortedDictionary<string, string> actual)
    {
        foreach (var (k, v) in expected)
        {
            if (!actual.TryGetValue(k, out var a)) return $"{k} is missing";
            if (a == v) continue;
            int at = 0;
            while (at < Math.Min(a.Length, v.Length) && a[at] == v[at]) at++;
            int from = Math.Max(0, at - 60);
            return $"{k} differs from the uninterrupted run's at character {at}: '{v[from..Math.Min(v.Length, at + 60)]}' became " +
                $"'{a[from..Math.Min(a.Length, at + 60)]}'";
        }
        return null;
    }

    /// <summary>Runs gansharp in a child process (as a user would), with one environment variable set.</summary>
    internal static (int Code, string Output, string Error) Child(string[] args, string? variable = null, string? value = null)
    {
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var environment = new Dictionary<string, string?>
        {
            // The child starts with the CLI's GC settings directly instead of relaunching itself for them.
            ["DOTNET_GCgen0size"] = "0x20000000",
            ["OMP_NUM_THREADS"] = "1",
        };
        if (variable != null) environment[variable] = value;
        return ChildProcess.Run(host, [Path.Combine(AppContext.BaseDirectory, "gansharp.dll"), .. args], environment);
    }

    [GeneratedRegex(@"fault point \d+: (.+)")]
    private static partial Regex FaultLine();

    [GeneratedRegex(@"time: [0-9.]+\)")]
    private static partial Regex TimeField();

    [GeneratedRegex(@"\(\w{3} \w{3} \d+ [\d:]+ \d{4}\)")]
    private static partial Regex HeaderDate();
}
