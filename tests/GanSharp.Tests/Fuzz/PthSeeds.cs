using System.Buffers.Binary;
using System.Text;
using GanSharp.Interop;
using static TorchSharp.torch;

namespace GanSharp.Tests.Fuzz;

/// <summary>
/// Small real .pth files as structured seeds, so a mutant can be damaged at one layer (pickle, storage, zip
/// records) and rebuilt intact around it: the damage then reaches the code behind the outer layers.
/// </summary>
internal sealed class PthSeed
{
    public required bool Legacy { get; init; }
    /// <summary>Zip: every entry in order (data.pkl first). Legacy: the object pickle is <see cref="Pickle"/>.</summary>
    public required List<(string Name, byte[] Data)> Entries { get; init; }
    /// <summary>Legacy only: the magic, protocol and system-info pickles before the object.</summary>
    public byte[] LegacyHead { get; init; } = [];
    /// <summary>Legacy only: the storage-key list pickle and the storages (8-byte count + data each) after it.</summary>
    public byte[] LegacyKeys { get; init; } = [];
    public List<byte[]> LegacyStorages { get; init; } = [];
    public required byte[] Pickle { get; init; }
    public required byte[] Bytes { get; init; }

    public byte[] With(byte[]? pickle = null, int storage = -1, byte[]? storageData = null)
    {
        pickle ??= Pickle;
        if (Legacy)
        {
            var parts = new List<byte[]> { LegacyHead, pickle, LegacyKeys };
            for (int i = 0; i < LegacyStorages.Count; i++) parts.Add(i == storage ? storageData! : LegacyStorages[i]);
            return parts.SelectMany(p => p).ToArray();
        }
        using var ms = new MemoryStream();
        var zip = new StoredZipWriter(ms);
        int k = 0;
        foreach (var (name, data) in Entries)
        {
            bool isStorage = name.Contains("/data/", StringComparison.Ordinal);
            zip.Add(name, name.EndsWith("data.pkl", StringComparison.Ordinal) ? pickle : isStorage && k++ == storage ? storageData! : data);
        }
        zip.Finish();
        return ms.ToArray();
    }

    public int StorageCount => Legacy ? LegacyStorages.Count : Entries.Count(e => e.Name.Contains("/data/", StringComparison.Ordinal));

    public byte[] StorageData(int i) =>
        Legacy ? LegacyStorages[i] : Entries.Where(e => e.Name.Contains("/data/", StringComparison.Ordinal)).ElementAt(i).Data;

    /// <summary>Seeds: a small state dict and an optimizer-like state, each in the zip and the legacy format, each
    /// also with the memo opcodes (BINPUT/BINGET) that PyTorch's pickler writes and ours does not.</summary>
    public static List<PthSeed> Build()
    {
        using var dir = Fixtures.TempDir();
        var seeds = new List<PthSeed>();
        using var sd = new StateDict();
        sd.Add("conv.weight", arange(24, dtype: ScalarType.Float32).reshape(2, 3, 2, 2) / 7);
        sd.Add("conv.bias", tensor(new[] { -1.5, 2.25 }));
        sd.Add("norm.num_batches_tracked", tensor(3L));
        sd.Add("emb", ones(3, dtype: ScalarType.Float16));
        sd.Add("mask", tensor(new[] { true, false, true }));
        sd.Add("ids", tensor(new byte[] { 1, 2, 250 }));
        var optimizer = new Dictionary<object, object?>
        {
            ["state"] = new Dictionary<object, object?>
            {
                [0L] = new Dictionary<object, object?>
                {
                    ["step"] = tensor(2f), ["exp_avg"] = full(2, 2, 0.5f),
                    ["exp_avg_sq"] = zeros(3, dtype: ScalarType.Int32)
                },
            },
            ["param_groups"] = new List<object?>
            {
                new Dictionary<object, object?> { ["lr"] = 2e-4, ["betas"] = new PickleTuple([0.0, 0.999]), ["params"] = new List<object?> { 0L },
                    ["amsgrad"] = false, ["name"] = null },
            },
            ["big"] = new System.Numerics.BigInteger(long.MaxValue) * 3,
        };
        foreach (var format in new[] { PthFormat.Zip, PthFormat.Legacy })
        {
            foreach (object root in new object[] { sd, optimizer })
            {
                string path = dir.File($"seed{seeds.Count}.pth");
                PthWriter.Write(path, root, format);
                var seed = Parse(File.ReadAllBytes(path), format == PthFormat.Legacy);
                seeds.Add(seed);
                var memo = Pickles.WithMemo(seed.Pickle);
                seeds.Add(Parse(seed.With(memo), seed.Legacy));
            }
        }
        return seeds;
    }

    private static PthSeed Parse(byte[] bytes, bool legacy)
    {
        if (legacy)
        {
            int pos = 0;
            var ends = new List<int>();
            for (int i = 0; i < 5; i++)
            {
                pos = Pickles.End(bytes, pos);
                ends.Add(pos);
            }
            // The storages (8-byte count, then data, each) stay one block: generic mutations cover them.
            var storages = new List<byte[]> { bytes[pos..] };
            return new PthSeed
            {
                Legacy = true, Bytes = bytes, Entries = [],
                LegacyHead = bytes[..ends[2]], Pickle = bytes[ends[2]..ends[3]], LegacyKeys = bytes[ends[3]..ends[4]], LegacyStorages = storages,
            };
        }
        using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(bytes));
        var entries = zip.Entries.Select(e =>
        {
            using var s = e.Open();
            var data = new byte[e.Length];
            s.ReadExactly(data);
            return (e.FullName, data);
        }).ToList();
        return new PthSeed
        {
            Legacy = false, Bytes = bytes, Entries = entries,
            Pickle = entries.Single(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)).data
        };
    }
}

/// <summary>Opcode-level surgery on the protocol-2 pickles PthWriter and PyTorch write.</summary>
internal static class Pickles
{
    /// <summary>Length of the opcode at <paramref name="at"/> including its argument.</summary>
    public static int OpLength(byte[] p, int at)
    {
        int left = p.Length - at;
        int len = p[at] switch
        {
            0x80 or 0x4b or 0x71 or 0x68 => 2,
            0x4d => 3,
            0x4a or 0x72 or 0x6a => 5,
            0x47 or 0x95 => 9,
            0x8a or 0x8c or 0x43 or 0x55 => left >= 2 ? 2 + p[at + 1] : -1,
            0x58 or 0x42 or 0x54 => left >= 5 ? 5 + BinaryPrimitives.ReadInt32LittleEndian(p.AsSpan(at + 1)) : -1,
            0x63 => GlobalLength(p, at),
            _ => 1,
        };
        return len > 0 && len <= left ? len : -1;
    }

    private static int GlobalLength(byte[] p, int at)
    {
        int e1 = Array.IndexOf(p, (byte)'\n', at + 1);
        int e2 = e1 < 0 ? -1 : Array.IndexOf(p, (byte)'\n', e1 + 1);
        return e2 < 0 ? -1 : e2 + 1 - at;
    }

    /// <summary>Start offsets of every opcode of the pickle that starts at <paramref name="start"/>, STOP included.</summary>
    public static List<int> Ops(byte[] p, int start = 0)
    {
        var ops = new List<int>();
        int at = start;
        // A damaged pickle may not tokenise to its end: the rest is then one opaque run.
        while (at < p.Length)
        {
            ops.Add(at);
            if (p[at] == 0x2e) return ops;
            int len = OpLength(p, at);
            if (len <= 0 || at + len > p.Length) return ops;
            at += len;
        }
        return ops;
    }

    public static int End(byte[] p, int start)
    {
        var ops = Ops(p, start);
        return ops[^1] + 1;
    }

    /// <summary>
    /// The same pickle as PyTorch's pickler would memoise it: BINPUT after every global and container, and a
    /// repeated global fetched back with BINGET.
    /// </summary>
    public static byte[] WithMemo(byte[] p)
    {
        var outp = new List<byte>();
        var globals = new Dictionary<string, int>(StringComparer.Ordinal);
        int next = 0;
        foreach (int at in Ops(p))
        {
            int len = OpLength(p, at);
            byte op = p[at];
            if (op == 0x63)
            {
                string g = Encoding.ASCII.GetString(p, at, len);
                if (globals.TryGetValue(g, out int slot) && slot < 256)
                {
                    outp.AddRange([0x68, (byte)slot]);
                    continue;
                }
                globals[g] = next;
            }
            outp.AddRange(p.AsSpan(at, len).ToArray());
            if (op is 0x63 or 0x7d or 0x5d or 0x29 or 0x74 or 0x52 or 0x58 && next < 255)
                outp.AddRange([0x71, (byte)next++]);
            else if (op is 0x63) globals.Remove(Encoding.ASCII.GetString(p, at, len));
        }
        return outp.ToArray();
    }

    private static readonly byte[][] Gadgets =
    [
        [0x28], // MARK
        [0x5d], // EMPTY_LIST
        [0x5d, 0x61], // EMPTY_LIST APPEND
        [0x7d, 0x4e, 0x4e, 0x73], // EMPTY_DICT None None SETITEM (None as a key)
        [0x5d, 0x71, 0x00, 0x68, 0x00, 0x61], // a list that contains itself
        [0x68, 0x00], [0x68, 0x03], [0x6a, 0xff, 0xff, 0xff, 0x7f], // BINGET
        [0x71, 0x00], [0x94], // BINPUT, MEMOIZE
        [0x85], [0x86], [0x87], [0x74], [0x6c], [0x64], [0x65], [0x75], [0x62], [0x52], [0x81], [0x51], [0x2e], [0x30], // bare opcodes
        [0x4e, 0x85, 0x52], // REDUCE of a tuple
        Encoding.ASCII.GetBytes("ccollections\nOrderedDict\n"),
        Encoding.ASCII.GetBytes("cposix\nsystem\n"),
        [0x58, 0xff, 0xff, 0xff, 0x7f], [0x58, 0x00, 0x00, 0x00, 0x80], [0x8d, 0, 0, 0, 0, 0, 0, 0, 0x40],
            [0x42, 0xf0, 0xff, 0xff, 0x0f], // lengths past the end
        [0x8b, 0xff, 0xff, 0xff, 0x7f], [0x8a, 0xff], // LONG4/LONG1 with long lengths
        Encoding.ASCII.GetBytes("I99999999999999999999999\n"), Encoding.ASCII.GetBytes("Fnan-ish\n"), Encoding.ASCII.GetBytes("g12x\n"),
            Encoding.ASCII.GetBytes("p-1\n"),
        [0x4a, 0xff, 0xff, 0xff, 0xff], [0x8a, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x80], // negative numbers where counts are expected
    ];

    /// <summary>Duplicates, deletes, swaps or nests opcodes, or splices in a gadget at an opcode boundary.</summary>
    public static byte[] MutateOps(Random r, byte[] p)
    {
        var ops = Ops(p);
        var spans = ops.Select((at, i) => p.AsSpan(at, (i + 1 < ops.Count ? ops[i + 1] : p.Length) - at).ToArray()).ToList();
        int k = r.Next(spans.Count);
        switch (r.Next(7))
        {
            case 0: // duplicate a run of opcodes in place
                {
                    int len = 1 + r.Next(Math.Min(6, spans.Count - k));
                    spans.InsertRange(k, spans.GetRange(k, len).Select(s => (byte[])s.Clone()));
                    break;
                }
            case 1:
                spans.RemoveAt(k);
                break;
            case 2:
                {
                    int j = r.Next(spans.Count);
                    (spans[k], spans[j]) = (spans[j], spans[k]);
                    break;
                }
            case 3: // deep nesting: a long run of TUPLE1 or EMPTY_LIST/APPEND pairs
                {
                    int depth = r.Next(2) == 0 ? 1 + r.Next(200) : 1000 + r.Next(20000);
                    byte[] one = r.Next(2) == 0 ? [0x85] : [0x5d, 0x86];
                    spans.Insert(k, Enumerable.Repeat(one, depth).SelectMany(x => x).ToArray());
                    break;
                }
            case 4: // an argument replaced: a length, a count or an index inflated
                {
                    var s = (byte[])spans[k].Clone();
                    if (s.Length > 1) s = Mutate.InflateLength(r, s);
                    spans[k] = s;
                    break;
                }
            default:
                spans.Insert(k, Gadgets[r.Next(Gadgets.Length)]);
                break;
        }
        return spans.SelectMany(s => s).ToArray();
    }
}

/// <summary>Tampering with the records of a zip file: the end record, the central directory and local headers.</summary>
internal static class ZipTamper
{
    private const uint EndSig = 0x06054b50, CentralSig = 0x02014b50, LocalSig = 0x04034b50;

    public static int FindBackwards(byte[] b, uint sig)
    {
        for (int i = b.Length - 4; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i)) == sig) return i;
        return -1;
    }

    public static List<int> FindAll(byte[] b, uint sig)
    {
        var found = new List<int>();
        for (int i = 0; i + 4 <= b.Length; i++)
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i)) == sig) found.Add(i);
        return found;
    }

    public static byte[] Tamper(Random r, byte[] zip)
    {
        var m = (byte[])zip.Clone();
        int which = r.Next(3);
        // (offset within the record, width) of the fields that size or place something
        (int Off, int Width)[] fields = which switch
        {
            0 => [(8, 2), (10, 2), (12, 4), (16, 4), (20, 2)],
            1 => [(10, 2), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (42, 4)],
            _ => [(8, 2), (18, 4), (22, 4), (26, 2), (28, 2)],
        };
        var records = which == 0 ? [FindBackwards(m, EndSig)] : FindAll(m, which == 1 ? CentralSig : LocalSig);
        records.RemoveAll(x => x < 0);
        if (records.Count == 0) return Mutate.FlipBits(r, m);
        int rec = records[r.Next(records.Count)];
        var (off, width) = fields[r.Next(fields.Length)];
        if (rec + off + width > m.Length) return m;
        var span = m.AsSpan(rec + off, width);
        ulong old = width == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(span) : BinaryPrimitives.ReadUInt32LittleEndian(span);
        ulong v = r.Next(5) switch
        {
            0 => 0,
            1 => width == 2 ? 0xFFFFUL : 0xFFFFFFFFUL, // also the zip64 escape
            2 => old + (ulong)r.Next(1, 100),
            3 => old - (ulong)Math.Min((long)old, r.Next(1, 100)),
            _ => (ulong)r.NextInt64(0, width == 2 ? 0x10000 : 0x100000000),
        };
        if (width == 2) BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)v);
        else BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)v);
        return m;
    }
}
