namespace GanSharp.Tests.Distributed;

/// <summary>A fact that launches mpirun itself; skipped, with the reason, only where Open MPI's mpirun is absent.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public const string MpiRun = "/usr/bin/mpirun";

    public const string Absent = "mpirun is not installed here (apt-get install openmpi-bin libopenmpi-dev; .ci/run does it as root)";

    public MpiFactAttribute()
    {
        if (!File.Exists(MpiRun)) Skip = Absent;
    }
}

/// <summary>A theory that launches mpirun itself; skipped, with the reason, only where Open MPI's mpirun is absent.</summary>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public MpiTheoryAttribute()
    {
        if (!File.Exists(MpiFactAttribute.MpiRun)) Skip = MpiFactAttribute.Absent;
    }
}

/// <summary>gansharp command lines as a 2-rank mpirun job on loopback, or as one plain process, with their output.</summary>
internal static class MpiJob
{
    /// <summary>The mpirun tests take turns: two jobs of two ranks each on two cores would stretch every time bound, and a
    /// test that kills a rank must only ever see its own job's.</summary>
    public const string Collection = "mpirun";

    public static string Dll => typeof(GanSharp.Cli.Program).Assembly.Location;

    // On one machine "auto" would not overlap; the tests overlap (on), with buckets of 256 values, so that the tiny models'
    // gradient sums start during the backward, as a real model's across machines do.
    public static Dictionary<string, string?> Environment(bool float64, string overlap = "on") => new()
    {
        ["OMPI_MCA_btl"] = "self,tcp", ["OMP_NUM_THREADS"] = "1", ["GANSHARP_FLOAT64"] = float64 ? "1" : "0",
        ["GANSHARP_ALLREDUCE_BUCKET_FLOATS"] = "256", ["GANSHARP_ALLREDUCE_OVERLAP"] = overlap,
    };

    /// <summary>Runs the command under <c>mpirun -np <paramref name="ranks"/></c> (plain dotnet for 1); a non-zero exit fails the test.</summary>
    /// <param name="hostfile">Launches as the README's across-machines command does (a hostfile, one rank per host, no binding).</param>
    public static string Run(int ranks, IEnumerable<string> args, bool float64 = false, string? hostfile = null, string overlap = "on")
    {
        var (file, all) = ranks == 1 ? ("dotnet", new List<string> { Dll })
            : (MpiFactAttribute.MpiRun, new List<string> { "-np", $"{ranks}", "--oversubscribe", "--allow-run-as-root", "dotnet", Dll });
        if (ranks > 1 && hostfile != null) all.InsertRange(0, ["--hostfile", hostfile, "--map-by", "node", "--bind-to", "none"]);
        all.AddRange(args);
        var (code, output, error) = Reliability.ChildProcess.Run(file, all, Environment(float64, overlap), TimeSpan.FromMinutes(6));
        Assert.True(code == 0, $"{file} {string.Join(' ', all)} exited with {code}:\n{output}\n{error}");
        return output + error;
    }
}

[CollectionDefinition(MpiJob.Collection)]
public sealed class MpiCollection;
