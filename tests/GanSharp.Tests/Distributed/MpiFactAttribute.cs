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
