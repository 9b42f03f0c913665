using System.Diagnostics;
using GanSharp.Tests.Reliability;

namespace GanSharp.Tests.Distributed;

/// <summary>Refusals and faults of a 2-rank mpirun job on loopback (the built CLI); skipped only where mpirun is absent.</summary>
[Collection(MpiJob.Collection)]
public sealed class MpiFaultTests
{
    private const string MpiRun = MpiFactAttribute.MpiRun;

    private static readonly Dictionary<string, string?> Env = new() { ["OMPI_MCA_btl"] = "self,tcp", ["OMP_NUM_THREADS"] = "1" };

    private static List<string> Launch(TinySpade tiny, params string[] more) =>
        ["-np", "2", "--oversubscribe", "--allow-run-as-root", "dotnet", typeof(GanSharp.Cli.Program).Assembly.Location,
            .. tiny.Train(tiny.Checkpoints, more)];

    [MpiFact]
    public void BatchNotDivisibleByRanksIsRefusedWithExitCode2()
    {
        using var tiny = new TinySpade();
        var (code, output, _) = ChildProcess.Run(MpiRun, Launch(tiny, "--batch-size", "3", "--name", "odd"), Env, TimeSpan.FromMinutes(3));
        Assert.Equal(2, code);
        Assert.Contains("--batch-size 3 is the global batch and must divide by the 2 ranks of", output.Replace("\n", " "));
    }

    [MpiFact]
    public void FamilyRunUnderMpirunIsRefusedWithExitCode2()
    {
        using var dir = Fixtures.TempDir();
        string[] args = ["-np", "2", "--oversubscribe", "--allow-run-as-root", "dotnet", typeof(GanSharp.Cli.Program).Assembly.Location, "train",
            "--family", "dcgan", "--data", "ring8", "--checkpoints-dir", dir.Root, "--name", "toy", "--max-iterations", "2"];
        var (code, output, _) = ChildProcess.Run(MpiRun, args, Env, TimeSpan.FromMinutes(3));
        Assert.Equal(2, code);
        Assert.Contains("--family dcgan trains in one process: run it without mpirun", output.Replace("\n", " "));
        Assert.False(Directory.Exists(Path.Combine(dir.Root, "toy")), "the refused run created its folder");
    }

    // kill -9 of rank 1's process: the job must end within 60 s (mpirun notices the dead rank; the watchdog bounds a hang)
    // and the output must name the rank.
    [MpiFact]
    public void KilledRankStopsTheOtherWithin60Seconds()
    {
        using var tiny = new TinySpade();
        var psi = new ProcessStartInfo(MpiRun) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in Launch(tiny, "--max-iterations", "100000", "--name", "killed")) psi.ArgumentList.Add(a);
        foreach (var (k, v) in Env) psi.Environment[k] = v;
        psi.Environment["GANSHARP_MPI_TIMEOUT"] = "30";
        using var mpirun = Process.Start(psi)!;
        var stdout = mpirun.StandardOutput.ReadToEndAsync();
        var stderr = mpirun.StandardError.ReadToEndAsync();
        try
        {
            // Training has begun once rank 0 has written the run's options.
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (!File.Exists(Path.Combine(tiny.Checkpoints, "killed", "options.json")) && DateTime.UtcNow < deadline) Thread.Sleep(200);
            Thread.Sleep(3000);
            int victim = RankProcess(1, tiny.Checkpoints);
            Assert.True(victim > 0, "rank 1's process was not found");
            var killed = Stopwatch.StartNew();
            Process.GetProcessById(victim).Kill();
            Assert.True(mpirun.WaitForExit(TimeSpan.FromSeconds(60)), "the job still runs 60 s after rank 1 was killed");
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(60));
            Assert.NotEqual(0, mpirun.ExitCode);
            string output = stdout.Result + stderr.Result;
            Assert.Matches(@"rank 1\b", output);
        }
        finally
        {
            if (!mpirun.HasExited) mpirun.Kill(entireProcessTree: true);
        }
    }

    // The process of that rank of this test's job (its command line names this test's own folder: other mpirun tests
    // may run beside it) which has Open MPI loaded (gansharp may have restarted itself once, see GcQuiet).
    private static int RankProcess(int rank, string marker)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string env = File.ReadAllText(Path.Combine(dir, "environ"));
                if (!env.Contains($"\0OMPI_COMM_WORLD_RANK={rank}\0", StringComparison.Ordinal) &&
                    !env.StartsWith($"OMPI_COMM_WORLD_RANK={rank}\0", StringComparison.Ordinal)) continue;
                if (!File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(marker, StringComparison.Ordinal)) continue;
                if (File.ReadAllText(Path.Combine(dir, "maps")).Contains("libmpi.so", StringComparison.Ordinal)) return pid;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return 0;
    }
}
