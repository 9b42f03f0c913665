namespace GanSharp.Bench;

/// <summary>The processor a benchmark ran on, as its figures must name it (model, family/model numbers, vector ISA).</summary>
public static class Cpu
{
    public static string Describe()
    {
        if (!File.Exists("/proc/cpuinfo")) return Environment.ProcessorCount + " logical processors";
        var fields = File.ReadLines("/proc/cpuinfo").TakeWhile(l => l.Length > 0)
            .Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim()).ToDictionary(g => g.Key, g => g.First()[1].Trim());
        string flags = fields.GetValueOrDefault("flags", "");
        string isa = flags.Contains("avx512f") ? "AVX-512" : flags.Contains("avx2") ? "AVX2 (no AVX-512)" : "no AVX2";
        return $"{fields.GetValueOrDefault("model name", "?")} (family {fields.GetValueOrDefault("cpu family", "?")}, model "
            + $"{fields.GetValueOrDefault("model", "?")}, {isa}), {Environment.ProcessorCount} logical processors";
    }
}
