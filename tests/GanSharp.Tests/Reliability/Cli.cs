using GanSharp.Cli;
using GanSharp.Data;
using Spectre.Console;

namespace GanSharp.Tests.Reliability;

/// <summary>Runs gansharp command lines in this process, with what they print.</summary>
internal static class Cli
{
    private static readonly object Gate = new();

    public static (int Code, string Output) Run(params string[] args)
    {
        lock (Gate)
        {
            var saved = AnsiConsole.Console;
            var savedError = Console.Error;
            var text = new StringWriter();
            try
            {
                var console = AnsiConsole.Create(new AnsiConsoleSettings
                {
                    Ansi = AnsiSupport.No,
                    ColorSystem = ColorSystemSupport.NoColors,
                    Interactive = InteractionSupport.No,
                    Out = new AnsiConsoleOutput(text),
                });
                console.Profile.Width = 4000;
                AnsiConsole.Console = console;
                Console.SetError(text);
                int code = Program.Run(args);
                return (code, text.ToString());
            }
            finally
            {
                AnsiConsole.Console = saved;
                Console.SetError(savedError);
            }
        }
    }

    /// <summary>The error sentence of a refused command (the line after "error: ").</summary>
    public static string Error(string output) =>
        output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("error: ", StringComparison.Ordinal))?["error: ".Length..]
        ?? throw new Xunit.Sdk.XunitException("no error line in:\n" + output);
}

/// <summary>A tiny SPADE data set and the options of a tiny run on it, for command lines.</summary>
internal sealed class TinySpade : IDisposable
{
    public TinySpade()
    {
        Dir = new TempDir();
        Info = SyntheticDataset.Generate(Dir.File("data"), new SyntheticOptions { TrainCount = 4, ValCount = 2, Width = 48, Height = 40, Seed = 2 });
    }

    public TempDir Dir { get; }

    public SyntheticDatasetInfo Info { get; }

    public string Checkpoints => Dir.File("ck");

    /// <summary>The options of a tiny training run (crop 32, ngf 2), without --name; an option in <paramref name="more"/> replaces the tiny
    /// one.</summary>
    public string[] Train(string checkpoints, params string[] more)
    {
        string[] tiny =
        [
            "--label-dir", Info.TrainLabelDir, "--image-dir", Info.TrainImageDir, "--instance-dir", Info.TrainInstanceDir!,
            "--label-nc", Info.LabelNc.ToString(System.Globalization.CultureInfo.InvariantCulture), "--load-size", "36", "--crop-size", "32",
            "--batch-size", "2", "--ngf", "2", "--ndf", "4", "--num-D", "2", "--n-layers-D", "2", "--diversity-samples", "0",
            "--print-freq", "2", "--display-freq", "1000000", "--save-latest-freq", "4", "--checkpoints-dir", checkpoints,
        ];
        var args = new List<string> { "train", "--no-vgg-loss" };
        for (int i = 0; i < tiny.Length; i += 2)
            if (!more.Contains(tiny[i])) args.AddRange([tiny[i], tiny[i + 1]]);
        args.AddRange(more);
        return [.. args];
    }

    public string[] Test(string checkpoints, string results, params string[] more) =>
    [
        "test", "--label-dir", Info.ValLabelDir, "--image-dir", Info.ValImageDir, "--instance-dir", Info.ValInstanceDir!,
        "--checkpoints-dir", checkpoints, "--results-dir", results, .. more,
    ];

    public void Dispose() => Dir.Dispose();
}

/// <summary>Runs a program to its end with its output, killing it (and failing) when it overruns its time.</summary>
internal static class ChildProcess
{
    public static (int Code, string Output, string Error) Run(string file, IEnumerable<string> args,
        IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file)
        {
            UseShellExecute = false, RedirectStandardOutput = true,
            RedirectStandardError = true
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // A null value removes the variable from the child's environment.
        foreach (var (k, v) in environment ?? new Dictionary<string, string?>())
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout ?? TimeSpan.FromMinutes(5)}");
        }
        return (p.ExitCode, stdout.Result + stderr.Result, stderr.Result);
    }
}

/// <summary>A small tmpfs, to fill a disk for real (needs root, as CI has).</summary>
internal static class Tmpfs
{
    private static bool? _can;

    public static bool CanMount()
    {
        if (_can is { } known) return known;
        string probe = Path.Combine(Path.GetTempPath(), "gansharp-tmpfs-probe-" + Environment.ProcessId);
        string? m = Mount(probe, "64k");
        Unmount(m);
        _can = m != null;
        return _can.Value;
    }

    public static string? Mount(string dir, string size)
    {
        // Lets a root user check the path taken where mounting is not allowed.
        if (Environment.GetEnvironmentVariable("GANSHARP_TEST_NO_MOUNT") == "1") return null;
        Directory.CreateDirectory(dir);
        return Exec("mount", $"-t tmpfs -o size={size} tmpfs {dir}") ? dir : null;
    }

    public static void Unmount(string? dir)
    {
        if (dir is null) return;
        Exec("umount", dir);
        try
        {
            Directory.Delete(dir);
        }
        catch (IOException)
        {
        }
    }

    private static bool Exec(string file, string args)
    {
        try
        {
            return ChildProcess.Run(file, args.Split(' '), timeout: TimeSpan.FromSeconds(10)).Code == 0;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or TimeoutException)
        {
            return false;
        }
    }
}
