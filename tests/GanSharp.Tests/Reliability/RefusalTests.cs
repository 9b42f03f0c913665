using System.Text;
using System.Text.RegularExpressions;
using GanSharp.Cli;
using GanSharp.Training;

namespace GanSharp.Tests.Reliability;

/// <summary>
/// What GanSharp refuses, and how: every case runs its command line and must end with its exit code and sentence;
/// together they are README's table "What GanSharp refuses, and how", which this test keeps in step
/// (<c>GANSHARP_UPDATE_README=1 dotnet test --filter RefusalTests</c> rewrites it).
/// </summary>
[Collection("torch-global-rng")]
public partial class RefusalTests
{
    private sealed record Case(string Input, int Code, string Expect, Func<TinySpade, string[]> Prepare, Action? After = null);

    private static IEnumerable<Case> Cases()
    {
        yield return new("`train --name ../../escape` (or any name with `/`, `\\`, `..`)", ExitCodes.Usage,
            "--name '../../escape' must be a plain folder name",
            t => t.Train(t.Checkpoints, "--name", "../../escape", "--max-iterations", "1"));
        yield return new("`test --name /abs/path`", ExitCodes.Usage, "--name '/abs/path' must be a plain folder name",
            t => t.Test(t.Checkpoints, t.Dir.File("res"), "--name", "/abs/path"));
        yield return new("`test --which-epoch ../latest`", ExitCodes.Usage, "--which-epoch '../latest' must be 'latest' or an epoch number",
            t => t.Test(t.Checkpoints, t.Dir.File("res"), "--name", "x", "--which-epoch", "../latest"));
        yield return new("`--lr 1e309` (parsed as infinity)", ExitCodes.Usage, "--lr 1e309 is out of range",
            t => t.Train(t.Checkpoints, "--name", "n", "--lr", "1e309"));
        yield return new("`--lr 1e300` (beyond a 32-bit float)", ExitCodes.Usage, "--lr 1e300 is out of range",
            t => t.Train(t.Checkpoints, "--name", "n", "--lr", "1e300"));
        yield return new("`--init-variance 1e309`", ExitCodes.Usage, "--init-variance 1e309 is out of range",
            t => t.Train(t.Checkpoints, "--name", "n", "--init-variance", "1e309"));
        yield return new("`--lr-scale-g 1e309`", ExitCodes.Usage, "--lr-scale-g 1e309 is out of range",
            t => t.Train(t.Checkpoints, "--name", "n", "--lr-scale-g", "1e309"));
        yield return new("`--lr 3e38` (TTUR doubles D's rate past a float)", ExitCodes.Usage, "beyond a 32-bit float",
            t => t.Train(t.Checkpoints, "--name", "n", "--lr", "3e38"));
        yield return new("`--threads -5`", ExitCodes.Usage, "--threads -5 must not be negative",
            t => t.Train(t.Checkpoints, "--name", "n", "--threads", "-5"));
        RunLock? held = null;
        yield return new("a second `train` (or `--continue-train`) in a run folder another process is training in", ExitCodes.RunBusy,
            $"is in use: process {Environment.ProcessId} is training in it",
            t =>
            {
                held = RunLock.Acquire(Path.Combine(t.Checkpoints, "busy"));
                return t.Train(t.Checkpoints, "--name", "busy", "--max-iterations", "1");
            },
            () => held?.Dispose());
        yield return new("a new `train` over a run folder that holds a run", ExitCodes.Checkpoint, "already holds a run: pass --continue-train",
            t =>
            {
                Trained(t, "again");
                return t.Train(t.Checkpoints, "--name", "again", "--max-iterations", "1");
            });
        yield return new("`--continue-train` with a `latest_state.pth` of another configuration (ngf 4 in an ngf 2 run)", ExitCodes.Checkpoint,
            "was saved by a run with model.ngf 4, but this run's options.json has 2",
            t => ContinueWithAFileOf(t, "other", "latest_state.pth", "--ngf", "4"));
        yield return new("`--continue-train` after `latest_net_G.pth` was replaced", ExitCodes.Checkpoint,
            "latest_net_G.pth is not the netG saved in",
            t => ContinueWithAFileOf(t, "donor", "latest_net_G.pth", "--seed", "5"));
        yield return new("a photo cut to its first 100 bytes, at `data validate`", ExitCodes.BadInput, "is truncated (its image data ends early)",
            t => ["data", "validate", "--label-dir", t.Info.TrainLabelDir, "--image-dir", TruncatedPhotos(t), "--label-nc",
                t.Info.LabelNc.ToString()]);
        yield return new("the same photo at `train`", ExitCodes.BadInput, "is truncated (its image data ends early)",
            t => [.. t.Train(t.Checkpoints, "--name", "cut-photo", "--max-iterations", "1", "--image-dir", TruncatedPhotos(t), "--instance-dir",
                t.Info.TrainInstanceDir!)]);
        yield return new("`test` with a `latest_net_G.pth` cut short", ExitCodes.Checkpoint, "latest_net_G.pth is cut short or damaged",
            t =>
            {
                Trained(t, "cut-g");
                Truncate(Path.Combine(t.Checkpoints, "cut-g", "latest_net_G.pth"));
                return t.Test(t.Checkpoints, t.Dir.File("res"), "--name", "cut-g");
            });
        yield return new("`--continue-train` with a `latest_state.pth` cut short", ExitCodes.Checkpoint, "latest_state.pth is cut short or damaged",
            t =>
            {
                Trained(t, "cut-state");
                Truncate(Path.Combine(t.Checkpoints, "cut-state", "latest_state.pth"));
                return t.Train(t.Checkpoints, "--name", "cut-state", "--continue-train", "--max-iterations", "4");
            });
        yield return new("`evaluate --inception-weights` with the weights cut short", ExitCodes.Checkpoint, "is cut short or damaged",
            t =>
            {
                Trained(t, "cut-inception");
                string weights = t.Dir.File("pt_inception.pth");
                File.Copy(Path.Combine(t.Checkpoints, "cut-inception", "latest_net_D.pth"), weights, overwrite: true);
                Truncate(weights);
                return ["evaluate", "--fake", t.Info.TrainImageDir, "--real", t.Info.ValImageDir, "--metrics", "fid", "--inception-weights", weights];
            });
        string? mount = null;
        yield return new("`train` whose `--checkpoints-dir` is on a full disk (a 1 MB tmpfs)", ExitCodes.DiskFull,
            "is full (",
            t =>
            {
                mount = Tmpfs.Mount(t.Dir.File("full"), "1m");
                return t.Train(mount ?? throw new InvalidOperationException("the tmpfs did not mount"), "--name", "full", "--max-iterations", "2");
            },
            () => Tmpfs.Unmount(mount));
    }

    // Trains "mine" and a donor run with other options, copies one file of the donor into "mine", and continues "mine".
    private static string[] ContinueWithAFileOf(TinySpade t, string donor, string file, params string[] donorOptions)
    {
        Trained(t, "mine-" + donor);
        Trained(t, donor, donorOptions);
        File.Copy(Path.Combine(t.Checkpoints, donor, file), Path.Combine(t.Checkpoints, "mine-" + donor, file), overwrite: true);
        return t.Train(t.Checkpoints, "--name", "mine-" + donor, "--continue-train", "--max-iterations", "4");
    }

    // A copy of the training photos where one is cut to its first 100 bytes, as the issue's reproduction.
    private static string TruncatedPhotos(TinySpade t)
    {
        string dir = t.Dir.File("cut_img");
        if (Directory.Exists(dir)) return dir;
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(t.Info.TrainImageDir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        string first = Directory.GetFiles(dir).Order(StringComparer.Ordinal).First();
        File.WriteAllBytes(first, File.ReadAllBytes(first)[..100]);
        return dir;
    }

    private static void Truncate(string path)
    {
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
    }

    private static void Trained(TinySpade t, string name, params string[] more)
    {
        var (code, output) = Cli.Run(t.Train(t.Checkpoints, ["--name", name, "--max-iterations", "2", .. more]));
        Assert.True(code == 0, output);
    }

    [Fact]
    public void EveryRefusalEndsInItsExitCodeAndSentenceAsReadmeTables()
    {
        using var tiny = new TinySpade();
        var rows = new StringBuilder();
        rows.Append("| input | exit | what GanSharp says |\n|---|---|---|\n");
        bool mounted = Tmpfs.CanMount();
        foreach (var c in Cases())
        {
            if (c.Code == ExitCodes.DiskFull && !mounted)
            {
                // Without the right to mount a tmpfs the disk cannot be filled (CI runs as root and checks it); the
                // README keeps the row that a check wrote.
                rows.Append(ReadmeSection.Row("refusals", $"| {c.Input} |") ?? Row(c, "(needs root to mount a tmpfs)", tiny.Dir.Root));
                continue;
            }
            int code;
            string output;
            try
            {
                (code, output) = Cli.Run(c.Prepare(tiny));
            }
            finally
            {
                c.After?.Invoke();
            }
            Assert.True(c.Code == code, $"{c.Input}: exit {code}, expected {c.Code}\n{output}");
            string sentence = Cli.Error(output);
            Assert.Contains(c.Expect, sentence);
            Assert.DoesNotContain("   at ", output); // no stack trace
            rows.Append(Row(c, sentence, tiny.Dir.Root));
        }
        // Nothing of a refused --name escaped: no folder outside the chosen ones.
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(tiny.Dir.Root)!, "escape")));
        Assert.False(Directory.Exists(Path.Combine(tiny.Checkpoints, "n")));

        ReadmeSection.Check("refusals", rows.ToString());
    }

    private static string Row(Case c, string sentence, string root)
    {
        string s = sentence.Replace(root, "<dir>", StringComparison.Ordinal);
        s = Pid().Replace(s, "process <pid>");
        s = Megabytes().Replace(s, "<n> MB");
        s = Iteration().Replace(s, "iteration <n>");
        return $"| {c.Input} | {c.Code} | {s.Replace("|", "\\|", StringComparison.Ordinal)} |\n";
    }

    [GeneratedRegex(@"process \d+")]
    private static partial Regex Pid();

    [GeneratedRegex(@"\d[\d,.]* MB")]
    private static partial Regex Megabytes();

    [GeneratedRegex(@"iteration \d+")]
    private static partial Regex Iteration();
}

/// <summary>A section of README.md between <c>&lt;!-- name:begin --&gt;</c> and <c>&lt;!-- name:end --&gt;</c>, kept equal to what a test
/// generates.</summary>
internal static class ReadmeSection
{
    public static void Check(string name, string content)
    {
        string readme = FindReadme();
        string text = File.ReadAllText(readme);
        string begin = $"<!-- {name}:begin -->\n", end = $"<!-- {name}:end -->";
        int i = text.IndexOf(begin, StringComparison.Ordinal), j = text.IndexOf(end, StringComparison.Ordinal);
        Assert.True(i >= 0 && j > i, $"README.md has no {begin.Trim()} ... {end} section");
        string current = text[(i + begin.Length)..j];
        if (current == content) return;
        if (Environment.GetEnvironmentVariable("GANSHARP_UPDATE_README") == "1")
        {
            AtomicFile.WriteAllText(readme, text[..(i + begin.Length)] + content + text[j..]);
            return;
        }
        Assert.Fail($"README.md's {name} table is not what the tests give; run GANSHARP_UPDATE_README=1 dotnet test --filter RefusalTests. It " +
            $"should read:\n{content}");
    }

    /// <summary>The line of the section that starts with <paramref name="prefix"/>, with its newline; null when none.</summary>
    public static string? Row(string name, string prefix)
    {
        string text = File.ReadAllText(FindReadme());
        int i = text.IndexOf($"<!-- {name}:begin -->", StringComparison.Ordinal);
        if (i < 0) return null;
        var line = text[i..].Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? null : line + "\n";
    }

    private static string FindReadme()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "GanSharp.slnx"))) return Path.Combine(d.FullName, "README.md");
        throw new InvalidOperationException("README.md not found above " + AppContext.BaseDirectory);
    }
}
