namespace GanSharp.Distributed;

/// <summary>
/// Statistics the doctor reads (losses, D accuracy, gradient norms) as means over the ranks: rank 0's names, each
/// rank's value where it has one. A non-finite value on any rank stays non-finite, so divergence stops every rank.
/// </summary>
internal static class StatsReduction
{
    public static (List<string>, Dictionary<string, double>) Mean(Communicator comm, List<string> order, Dictionary<string, double> values)
    {
        var names = comm.Broadcast(string.Join('\n', order), "the statistics' names").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var buffer = new double[2 * names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            if (!values.TryGetValue(names[i], out double v)) continue;
            buffer[2 * i] = v;
            buffer[2 * i + 1] = 1;
        }
        comm.AllreduceSum(buffer, "the statistics' reduction");
        var reduced = new Dictionary<string, double>(StringComparer.Ordinal);
        var kept = new List<string>(names.Length);
        for (int i = 0; i < names.Length; i++)
        {
            if (buffer[2 * i + 1] == 0) continue;
            reduced[names[i]] = buffer[2 * i] / buffer[2 * i + 1];
            kept.Add(names[i]);
        }
        return (kept, reduced);
    }
}
