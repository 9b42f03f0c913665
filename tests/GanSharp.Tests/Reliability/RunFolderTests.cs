using System.Text.Json.Nodes;
using GanSharp.Models.Spade;
using GanSharp.Runs;
using GanSharp.Training;

namespace GanSharp.Tests.Reliability;

[Collection("torch-global-rng")]
public class RunFolderTests
{
    [Fact]
    public void RecoveryCompletesACommittedCheckpointAndRemovesWhatKilledWritersLeft()
    {
        using var dir = Fixtures.TempDir();
        string run = dir.File("run");
        Directory.CreateDirectory(Path.Combine(run, "web", "images"));
        File.WriteAllText(Path.Combine(run, "latest_net_G.pth"), "old G");
        File.WriteAllText(Path.Combine(run, "iter.txt"), "old iter");
        // Committed: the journal lists two renames, of which the first happened before the kill.
        File.WriteAllText(Path.Combine(run, "latest_net_G.pth.4242.0123abcd.tmp"), "new G");
        File.WriteAllText(Path.Combine(run, "iter.txt"), "new iter");
        File.WriteAllText(Path.Combine(run, RunFolder.JournalName),
            "gansharp-checkpoint-journal 1\niter.txt\titer.txt.4242.89abcdef.tmp\nlatest_net_G.pth\tlatest_net_G.pth.4242.0123abcd.tmp\n");
        // Not committed: a state half written by a writer killed before its journal, and a page's temporary file.
        File.WriteAllBytes(Path.Combine(run, "latest_state.pth.5151.deadbeef.tmp"), new byte[3000]);
        File.WriteAllText(Path.Combine(run, "web", "images", "epoch001_fake.png.5151.00ff00ff.tmp"), "x");

        var notes = new RunFolder(run).Recover();

        Assert.Equal("new G", File.ReadAllText(Path.Combine(run, "latest_net_G.pth")));
        Assert.Equal("new iter", File.ReadAllText(Path.Combine(run, "iter.txt")));
        Assert.False(File.Exists(Path.Combine(run, RunFolder.JournalName)));
        Assert.Empty(Directory.EnumerateFiles(run, "*.tmp", SearchOption.AllDirectories));
        Assert.Equal(2, notes.Count);
        Assert.Contains("removed 2 temporary files", notes[1]);
    }

    [Theory]
    [InlineData("../escape.pth\tescape.pth.1.0123abcd.tmp")]
    [InlineData("latest_net_G.pth\t/etc/passwd")]
    [InlineData("latest_net_G.pth\tlatest_net_D.pth.1.0123abcd.tmp")]
    public void AJournalThatNamesAnythingButThisFoldersCheckpointIsRefused(string line)
    {
        using var dir = Fixtures.TempDir();
        File.WriteAllText(dir.File(RunFolder.JournalName), "gansharp-checkpoint-journal 1\n" + line + "\n");
        var e = Assert.Throws<GanSharpException>(() => new RunFolder(dir.Root).Recover());
        Assert.Equal(ErrorKind.Checkpoint, e.Kind);
        Assert.Contains("is not a rename of this folder's checkpoint", e.Message);
    }

    [Fact]
    public void OneTrainerPerFolderAndALockLeftByADeadProcessDoesNotBlock()
    {
        using var dir = Fixtures.TempDir();
        string run = dir.File("run");
        using (RunLock.Acquire(run))
        {
            var e = Assert.Throws<GanSharpException>(() => RunLock.Acquire(run));
            Assert.Equal(ErrorKind.RunBusy, e.Kind);
            Assert.Contains($"process {Environment.ProcessId} is training in it", e.Message);
        }
        // Released: the folder it created, empty again, is gone, so a refused command leaves nothing behind.
        Assert.False(Directory.Exists(run));

        // What a killed holder leaves: the files, but no lock of the operating system on them.
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, RunLock.FileName), "");
        File.WriteAllText(Path.Combine(run, RunLock.OwnerFileName), "pid 999999\nhost elsewhere\n");
        using (RunLock.Acquire(run))
            Assert.Contains($"pid {Environment.ProcessId}", File.ReadAllText(Path.Combine(run, RunLock.OwnerFileName)));
        Assert.True(Directory.Exists(run));
        Assert.Empty(Directory.EnumerateFileSystemEntries(run));
    }

    [Fact]
    public void AWriteThatRunsOutOfDiskSaysSoAndKeepsTheOldFile()
    {
        using var dir = Fixtures.TempDir();
        string? mount = Tmpfs.Mount(dir.File("small"), "256k");
        if (mount is null) return; // needs root to mount a tmpfs; CI has it
        try
        {
            string path = Path.Combine(mount, "weights.bin");
            AtomicFile.WriteAllBytes(path, [1, 2, 3]);
            var e = Assert.Throws<GanSharpException>(() => AtomicFile.WriteAllBytes(path, new byte[1 << 20]));
            Assert.Equal(ErrorKind.DiskFull, e.Kind);
            Assert.Contains($"the disk of {mount} is full", e.Message);
            Assert.Contains("weights.bin needs at least", e.Message);
            Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(mount));
        }
        finally
        {
            Tmpfs.Unmount(mount);
        }
    }

    [Fact]
    public void SeedReachesTheDataOfANewRun()
    {
        using var tiny = new TinySpade();
        var (code, output) = Cli.Run(tiny.Train(tiny.Checkpoints, "--name", "seeded", "--seed", "7", "--max-iterations", "1"));
        Assert.True(code == 0, output);
        var options = JsonNode.Parse(File.ReadAllText(Path.Combine(tiny.Checkpoints, "seeded", "options.json")))!;
        Assert.Equal(7, (int)options["run"]!["seed"]!);
        Assert.Equal(7, (int)options["data"]!["seed"]!);
    }

    [Fact]
    public void AResumedLogReadsAsTheUninterruptedRunsLog()
    {
        using var tiny = new TinySpade();
        // Checkpoints every 2 iterations, a log record every iteration; the crash comes after iteration 3 is logged.
        SpadeRunner.Train(TinyOptions(tiny, "straight", 4), new HashSet<string>(), CancellationToken.None, _ => { });
        var options = TinyOptions(tiny, "crashed", 4);
        Assert.Throws<InvalidOperationException>(() =>
            SpadeRunner.Train(options, new HashSet<string>(), CancellationToken.None, _ => { }, sinks: [new CrashAt(3)]));
        string crashed = Path.Combine(tiny.Checkpoints, "crashed");
        Assert.Contains("\"iteration\":3", File.ReadAllText(Path.Combine(crashed, "stats.jsonl")));
        var resumed = options with { Run = options.Run with { ContinueTrain = true } };
        var result = SpadeRunner.Train(resumed, new HashSet<string> { "run.continue_train" }, CancellationToken.None, _ => { });
        Assert.Equal(4, result.Position.Iteration);
        var straight = Entries(Path.Combine(tiny.Checkpoints, "straight"));
        Assert.Equal(8, straight.Count); // 4 records in each log
        var again = Entries(crashed);
        Assert.Equal(straight.Count, again.Count);
        for (int i = 0; i < straight.Count; i++) Assert.Equal(straight[i], again[i]);
    }

    [Fact]
    public void AReplacedGeneratorIsRefusedAndContinuesOnceTheStateIsDeleted()
    {
        using var tiny = new TinySpade();
        Assert.Equal(0, Cli.Run(tiny.Train(tiny.Checkpoints, "--name", "mine", "--max-iterations", "2")).Code);
        Assert.Equal(0, Cli.Run(tiny.Train(tiny.Checkpoints, "--name", "donor", "--max-iterations", "2", "--seed", "9")).Code);
        string mine = Path.Combine(tiny.Checkpoints, "mine"), donor = Path.Combine(tiny.Checkpoints, "donor");
        File.Copy(Path.Combine(donor, "latest_net_G.pth"), Path.Combine(mine, "latest_net_G.pth"), overwrite: true);
        string[] resume = tiny.Train(tiny.Checkpoints, "--name", "mine", "--max-iterations", "2", "--continue-train");
        Assert.Equal(5, Cli.Run(resume).Code);

        File.Delete(Path.Combine(mine, "latest_state.pth"));
        var (code, output) = Cli.Run(resume);
        Assert.True(code == 0, output);
        Assert.Contains("with fresh optimizer moments", output);
        // No iteration ran (the run was already at 2): the saved generator is the one put in its place.
        Assert.Equal(Tensors(Path.Combine(donor, "latest_net_G.pth")), Tensors(Path.Combine(mine, "latest_net_G.pth")));
        Assert.True(File.Exists(Path.Combine(mine, "latest_state.pth")));
    }

    private static SpadeRunOptions TinyOptions(TinySpade tiny, string name, long iterations) => new()
    {
        Data = tiny.Info.TrainOptions() with { BatchSize = 2, LoadSize = 36, CropSize = 32 },
        Model = new SpadeModelOptions { LabelNc = tiny.Info.LabelNc, Ngf = 2, Ndf = 4, CropSize = 32, NumD = 2, NLayersD = 2 },
        Loss = new GanSharp.Losses.SpadeLossOptions { NoVggLoss = true },
        Run = new RunOptions
        {
            Name = name, CheckpointsDir = tiny.Checkpoints, PrintFreq = 2, DisplayFreq = 1_000_000, SaveLatestFreq = 4,
            MaxIterations = iterations
        },
        DiversitySamples = 0,
    };

    private static List<string> Entries(string run) =>
    [
        .. File.ReadLines(Path.Combine(run, "stats.jsonl")).Select(l =>
        {
            var o = JsonNode.Parse(l)!.AsObject();
            o.Remove("time");
            return o.ToJsonString();
        }),
        .. File.ReadLines(Path.Combine(run, "loss_log.txt")).Where(l => l.StartsWith("(epoch", StringComparison.Ordinal))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"time: [0-9.]+", "time: T")),
    ];

    private static List<string> Tensors(string path)
    {
        using var sd = GanSharp.Interop.PthReader.ReadStateDict(path);
        return sd.Entries.Select(kv => kv.Key + Convert.ToHexString(GanSharp.Interop.PthWriter.TensorBytes(kv.Value))).ToList();
    }

    private sealed class CrashAt(long iteration) : IStatsSink
    {
        public void OnStats(StatsRecord r)
        {
            if (r.Iteration == iteration) throw new InvalidOperationException("crash after iteration " + iteration);
        }
    }
}
