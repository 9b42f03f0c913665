using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;

namespace GanSharp.Tests.Fuzz;

/// <summary>What one fuzz run saw; <see cref="Failures"/> lists inputs that ended in anything but success or a
/// <see cref="GanSharpException"/> naming the file, took too long or allocated more than their size allows.</summary>
internal sealed record FuzzReport(string Target, int Inputs, int Successes, int PastHeader, long MaxAllocated, double MaxMilliseconds,
    double Seconds, IReadOnlyList<string> Failures, IReadOnlyDictionary<string, int> Messages)
{
    public override string ToString() =>
        $"{Target}: {Inputs} inputs in {Seconds:F1} s, {Successes} read, {PastHeader} past the header, max {MaxAllocated / 1024} KiB allocated, "
        + $"slowest {MaxMilliseconds:F1} ms; {Failures.Count} kinds of failure"
        + (Failures.Count > 0 ? ":\n" + string.Join("\n", Failures) : "")
        + "\ncommonest refusals:\n" + string.Join("\n", Messages.OrderByDescending(kv => kv.Value).Take(12).Select(kv => $"  {kv.Value,6} {kv.Key}"));
}

/// <summary>
/// Runs a reader over seeded mutants of small real inputs, in parallel chunks whose generators are seeded by chunk,
/// so a failure is reproduced by (seed, chunk, index) whatever the scheduling.
/// </summary>
internal static class FuzzHarness
{
    public const string Name = "fuzz-input";

    /// <param name="read">Reads one input; the file name to expect in messages is <see cref="Name"/> plus an extension.</param>
    /// <param name="pastHeader">Whether a refusal came from beyond the file's header (successes always count).</param>
    /// <param name="allocationCap">Managed bytes one input may allocate, given its length.</param>
    public static FuzzReport Run(string target, IReadOnlyList<byte[]> seeds, Func<Random, byte[], byte[]> mutate, Action<byte[]> read,
        Func<GanSharpException, bool> pastHeader, Func<int, long> allocationCap, int count, int seed)
    {
        const int Chunks = 64;
        var failures = new ConcurrentDictionary<string, (int Count, string Example)>();
        var messages = new ConcurrentDictionary<string, int>();
        int inputs = 0, successes = 0, deep = 0;
        long maxAlloc = 0;
        long maxTicks = 0;
        var total = Stopwatch.StartNew();
        var work = Task.Run(() => Parallel.For(0, Chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, chunk =>
        {
            var rng = new Random(seed * 7919 + chunk);
            int n = count / Chunks + (chunk < count % Chunks ? 1 : 0);
            for (int i = 0; i < n; i++)
            {
                var input = mutate(rng, seeds[rng.Next(seeds.Count)]);
                long before = GC.GetAllocatedBytesForCurrentThread();
                long t0 = Stopwatch.GetTimestamp();
                string? failure = null, kind = null;
                try
                {
                    read(input);
                    Interlocked.Increment(ref successes);
                    Interlocked.Increment(ref deep);
                }
                catch (GanSharpException e)
                {
                    if (string.IsNullOrWhiteSpace(e.Message) || !e.Message.Contains(Name, StringComparison.Ordinal))
                        (kind, failure) = ("message without the file name", e.Message);
                    if (pastHeader(e)) Interlocked.Increment(ref deep);
                    messages.AddOrUpdate(Shape(e.Message), 1, (_, c) => c + 1);
                }
                catch (Exception e)
                {
                    string frame = e.StackTrace?.Split('\n').FirstOrDefault()?.Trim() ?? "";
                    (kind, failure) = ($"{e.GetType().Name} {System.Text.RegularExpressions.Regex.Replace(frame, " in /.*", "")}", e.Message);
                }
                long ticks = Stopwatch.GetTimestamp() - t0;
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                InterlockedMax(ref maxAlloc, allocated);
                InterlockedMax(ref maxTicks, ticks);
                if (kind is null && allocated > allocationCap(input.Length))
                    (kind, failure) = ("allocation beyond the cap", $"allocated {allocated} bytes for a {input.Length}-byte input");
                if (kind is null && ticks > Stopwatch.Frequency * 2)
                    (kind, failure) = ("slow input", $"took {ticks * 1000.0 / Stopwatch.Frequency:F0} ms");
                if (kind is not null)
                {
                    string example = $"seed {seed} chunk {chunk} input {i} ({input.Length} bytes): {failure}";
                    failures.AddOrUpdate(kind, (1, example), (_, v) => (v.Count + 1, v.Example));
                }
                Interlocked.Increment(ref inputs);
            }
        }));
        // A hang fails the test instead of stalling the whole run.
        Assert.True(work.Wait(TimeSpan.FromMinutes(5)), $"{target}: the fuzz did not finish within 5 minutes (a reader hangs)");
        return new FuzzReport(target, inputs, successes, deep, maxAlloc, maxTicks * 1000.0 / Stopwatch.Frequency,
            total.Elapsed.TotalSeconds, failures.Select(kv => $"{kv.Value.Count} x {kv.Key}, e.g. {kv.Value.Example}").ToList(), messages);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long seen;
        while (value > (seen = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    /// <summary>A refusal's text with numbers blanked, so a histogram groups refusals of one kind.</summary>
    private static string Shape(string message)
    {
        var s = System.Text.RegularExpressions.Regex.Replace(message, "[0-9]+", "#");
        return s.Length > 150 ? s[..150] : s;
    }
}

/// <summary>Generic byte-level mutations, each the kind of damage a copy, a download or a disk does.</summary>
internal static class Mutate
{
    private static readonly uint[] Interesting = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFF0];

    public static byte[] FlipBits(Random r, byte[] b)
    {
        var m = (byte[])b.Clone();
        if (m.Length == 0) return m;
        int flips = 1 + r.Next(8);
        for (int i = 0; i < flips; i++) m[r.Next(m.Length)] ^= (byte)(1 << r.Next(8));
        return m;
    }

    public static byte[] OverwriteBytes(Random r, byte[] b)
    {
        var m = (byte[])b.Clone();
        if (m.Length == 0) return m;
        int at = r.Next(m.Length), n = Math.Min(m.Length - at, 1 + r.Next(16));
        for (int i = 0; i < n; i++) m[at + i] = r.Next(3) == 0 ? (byte)Interesting[r.Next(Interesting.Length)] : (byte)r.Next(256);
        return m;
    }

    public static byte[] Truncate(Random r, byte[] b) => b[..r.Next(b.Length)];

    /// <summary>Writes a huge or off-by-a-bit value over what may be a 2-, 4- or 8-byte length field, either endianness.</summary>
    public static byte[] InflateLength(Random r, byte[] b)
    {
        var m = (byte[])b.Clone();
        int width = r.Next(3) switch { 0 => 2, 1 => 4, _ => 8 };
        if (m.Length < width) return m;
        int at = r.Next(m.Length - width + 1);
        bool big = r.Next(2) == 0;
        ulong old = width switch
        {
            2 => big ? BinaryPrimitives.ReadUInt16BigEndian(m.AsSpan(at)) : BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(at)),
            4 => big ? BinaryPrimitives.ReadUInt32BigEndian(m.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(at)),
            _ => big ? BinaryPrimitives.ReadUInt64BigEndian(m.AsSpan(at)) : BinaryPrimitives.ReadUInt64LittleEndian(m.AsSpan(at)),
        };
        ulong v = r.Next(4) switch
        {
            0 => Interesting[r.Next(Interesting.Length)],
            1 => old + (ulong)r.Next(1, 64),
            2 => old * (ulong)r.Next(2, 1 << 16),
            _ => ulong.MaxValue - (ulong)r.Next(16),
        };
        switch (width)
        {
            case 2:
                if (big) BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(at), (ushort)v);
                else BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(at), (ushort)v); break;
            case 4:
                if (big) BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(at), (uint)v);
                else BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(at), (uint)v); break;
            default:
                if (big) BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(at), v);
                else BinaryPrimitives.WriteUInt64LittleEndian(m.AsSpan(at), v); break;
        }
        return m;
    }

    /// <summary>Copies a random slice of the input over or into another place: repeated records, doubled chunks.</summary>
    public static byte[] DuplicateSlice(Random r, byte[] b)
    {
        if (b.Length < 2) return b;
        int from = r.Next(b.Length), len = 1 + r.Next(Math.Min(64, b.Length - from)), to = r.Next(b.Length);
        return [.. b.AsSpan(0, to), .. b.AsSpan(from, len), .. b.AsSpan(to)];
    }

    public static byte[] Any(Random r, byte[] b) => r.Next(5) switch
    {
        0 => FlipBits(r, b),
        1 => OverwriteBytes(r, b),
        2 => Truncate(r, b),
        3 => InflateLength(r, b),
        _ => DuplicateSlice(r, b),
    };

    /// <summary>One to three generic mutations in a row.</summary>
    public static byte[] Several(Random r, byte[] b)
    {
        int n = 1 + (r.Next(4) == 0 ? r.Next(3) : 0);
        for (int i = 0; i < n; i++) b = Any(r, b);
        return b;
    }
}
