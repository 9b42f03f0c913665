namespace GanSharp.Data;

/// <summary>
/// SplitMix64: a tiny generator whose sequence is fixed by this code alone, so shuffles and augmentations stay the
/// same across .NET versions and machines (System.Random's seeded sequence is an implementation detail).
/// </summary>
public sealed class DeterministicRng
{
    private ulong _state;

    public DeterministicRng(ulong seed) => _state = seed;

    /// <summary>A generator for one (seed, stream, a, b) tuple, independent of any other tuple.</summary>
    public static DeterministicRng For(int seed, ulong stream, long a, long b = 0)
    {
        ulong s = Mix((ulong)(uint)seed ^ 0x9E3779B97F4A7C15UL);
        s = Mix(s ^ stream);
        s = Mix(s ^ (ulong)a);
        s = Mix(s ^ (ulong)b);
        return new DeterministicRng(s);
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [min, max] inclusive (like Python's random.randint).</summary>
    public int NextInclusive(int min, int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        ulong range = (ulong)((long)max - min + 1);
        // Rejection keeps the draw exactly uniform.
        ulong limit = ulong.MaxValue - ulong.MaxValue % range;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(min + (long)(r % range));
    }

    /// <summary>Standard normal (Box-Muller).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A uniformly random permutation of 0..n-1 (Fisher-Yates).</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = NextInclusive(0, i);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
