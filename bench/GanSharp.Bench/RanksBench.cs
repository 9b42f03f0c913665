using System.Diagnostics;
using System.Globalization;
using GanSharp.Data;

namespace GanSharp.Bench;

/// <summary>
/// Data-parallel throughput on this machine: <c>gansharp train</c> at crop 128, ngf/ndf 32, global batch 2, no VGG, as
/// one process with 2 threads, with 1 thread (for scale), and as <c>mpirun -np 2</c> with 1 thread per rank (loopback TCP), with the
/// gradient sums after the backward (the default on one machine) and overlapped with it. Each configuration trains
/// <see cref="Short"/> + N iterations with a statistics record after every iteration; the elapsed times that stats.jsonl
/// records after iteration <see cref="Short"/> and after the last give N iterations without start-up or warm-up. Rank 0
/// reports its allreduce totals over the whole run (<c>GANSHARP_MPI_TIMES=1</c>), shown per iteration: the gradient
/// averaging, and all tensor allreduces (gradients and the synchronized norms' statistics), waiting for the slower rank
/// included.
/// Usage: <c>ranks [--iterations N] [--cli path/to/gansharp.dll]</c>.
/// </summary>
public static class RanksBench
{
    private const int Short = 2;

    public static int Run(string[] args)
    {
        int n = args.SkipWhile(a => a != "--iterations").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(6);
        string cli = args.SkipWhile(a => a != "--cli").Skip(1).FirstOrDefault() ?? FindCli();
        const string mpirun = "/usr/bin/mpirun";
        if (!File.Exists(mpirun))
        {
            Console.Error.WriteLine("mpirun is not installed here: apt-get install openmpi-bin libopenmpi-dev.");
            return 2;
        }
        string root = Path.Combine(Path.GetTempPath(), $"gansharp-ranks-{Environment.ProcessId}");
        try
        {
            var info = SyntheticDataset.Generate(Path.Combine(root, "data"), new SyntheticOptions
            {
                TrainCount = 2 * (Short + n) + 2, ValCount = 1, Width = 160, Height = 128, Seed = 3,
            });
            Console.WriteLine($"CPU: {Cpu.Describe()}");
            Console.WriteLine($"crop 128, ngf 32, ndf 32, global batch 2, no VGG; iterations {Short + 1}-{Short + n} timed");
            Console.WriteLine("configuration           s/iter  images/s  allreduce s/iter (of it gradients)");
            var one = Measure(info, cli, root, "one", ranks: 1, threads: 2, n);
            Console.WriteLine($"1 rank x 2 threads     {one.SecondsPerIteration,7:F3}  {2 / one.SecondsPerIteration,8:F2}  -");
            // One thread alone, for scale: what each rank of the 2-rank job has.
            var single = Measure(info, cli, root, "single", ranks: 1, threads: 1, n);
            Console.WriteLine($"1 rank x 1 thread      {single.SecondsPerIteration,7:F3}  {2 / single.SecondsPerIteration,8:F2}  -");
            // Every gradient sum after the backward: the default when all ranks share a machine, as here.
            var after = Measure(info, cli, root, "after", ranks: 2, threads: 1, n, overlap: false);
            Console.WriteLine($"2 ranks x 1 thread     {after.SecondsPerIteration,7:F3}  {2 / after.SecondsPerIteration,8:F2}  " +
                $"{after.AllreducePerStep:F4} ({after.GradientPerStep:F4})");
            // Sums started during the backward: the default across machines.
            var two = Measure(info, cli, root, "two", ranks: 2, threads: 1, n, overlap: true);
            Console.WriteLine($"2 ranks x 1, overlapped {two.SecondsPerIteration,7:F3}  {2 / two.SecondsPerIteration,8:F2}  " +
                $"{two.AllreducePerStep:F4} ({two.GradientPerStep:F4}); {two.OverlappedShare:P0} of the gradients started during the backward");
            Console.WriteLine($"ratio 2 ranks / 1 rank (images/s): {one.SecondsPerIteration / after.SecondsPerIteration:F2}; overlapped / not " +
                $"(s/iter): {two.SecondsPerIteration / after.SecondsPerIteration:F2}");
            return 0;
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    private sealed record Result(double SecondsPerIteration, double AllreducePerStep, double GradientPerStep, double OverlappedShare);

    private static Result Measure(SyntheticDatasetInfo info, string cli, string root, string name, int ranks, int threads, int n,
        bool overlap = true)
    {
        var (allreduce, gradient, share) = Train(info, cli, root, name, ranks, threads, Short + n, overlap);
        var times = new Dictionary<long, double>();
        foreach (var line in File.ReadLines(Path.Combine(root, "ck", name, "stats.jsonl")))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            times[doc.RootElement.GetProperty("iteration").GetInt64()] = doc.RootElement.GetProperty("time").GetDouble();
        }
        long from = times.Keys.Where(k => k >= Short).Min(), to = times.Keys.Max();
        if (to <= from) throw new InvalidOperationException($"{name}: stats.jsonl has no records after iteration {Short}");
        return new Result((times[to] - times[from]) / (to - from), allreduce / (Short + n), gradient / (Short + n), share);
    }

    private static (double Allreduce, double Gradient, double OverlappedShare) Train(SyntheticDatasetInfo info, string cli, string root,
        string name, int ranks, int threads, int iterations, bool overlap)
    {
        var psi = new ProcessStartInfo(ranks == 1 ? "dotnet" : "/usr/bin/mpirun")
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        if (ranks > 1) foreach (var a in new[] { "-np", $"{ranks}", "--oversubscribe", "--allow-run-as-root", "dotnet" })
            psi.ArgumentList.Add(a);
        string inv(int v) => v.ToString(CultureInfo.InvariantCulture);
        foreach (var a in new[]
        {
            cli, "train", "--no-vgg-loss", "--label-dir", info.TrainLabelDir, "--image-dir", info.TrainImageDir, "--label-nc", inv(info.LabelNc),
            "--no-instance", "--load-size", "128", "--crop-size", "128", "--batch-size", "2", "--ngf", "32", "--ndf", "32",
            "--threads", inv(threads), "--max-iterations", inv(iterations), "--print-freq", "2", "--display-freq", "1000000",
            "--save-latest-freq", "1000000", "--diversity-samples", "0", "--checkpoints-dir", Path.Combine(root, "ck"), "--name", name,
        })
            psi.ArgumentList.Add(a);
        psi.Environment["OMPI_MCA_btl"] = "self,tcp";
        psi.Environment["OMP_NUM_THREADS"] = inv(threads);
        psi.Environment["GANSHARP_MPI_TIMES"] = "1";
        psi.Environment["GANSHARP_ALLREDUCE_OVERLAP"] = overlap ? "on" : "off";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        string err = stderr.Result;
        if (p.ExitCode != 0) throw new InvalidOperationException($"{name} exited with {p.ExitCode}:\n{stdout}\n{err}");
        var line = err.Split('\n').FirstOrDefault(l => l.StartsWith("mpi-times:", StringComparison.Ordinal));
        if (line is null) return (0, 0, 0);
        var f = line.Split(' ');
        double at(string key) => double.Parse(f[Array.IndexOf(f, key) + 1], CultureInfo.InvariantCulture);
        double overlapped = at("overlapped_floats"), trailing = at("trailing_floats");
        return (at("allreduce_seconds"), at("gradient_seconds"), overlapped / Math.Max(1, overlapped + trailing));
    }

    // The CLI built next to this repository's bench (Release), unless --cli names it.
    private static string FindCli()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string bin = Path.Combine(dir.FullName, "src", "GanSharp.Cli", "bin", "Release");
            if (!Directory.Exists(bin)) continue;
            var found = Directory.GetFiles(bin, "gansharp.dll", SearchOption.AllDirectories);
            if (found.Length > 0) return found[0];
        }
        throw new FileNotFoundException("gansharp.dll not found: build the CLI (dotnet build -c Release) or pass --cli path/to/gansharp.dll.");
    }
}
