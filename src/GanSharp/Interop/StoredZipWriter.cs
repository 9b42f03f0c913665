using System.Buffers.Binary;
using System.Text;

namespace GanSharp.Interop;

/// <summary>
/// A minimal zip writer for stored (uncompressed) entries whose data start on 64-byte boundaries, the layout
/// PyTorch's reader memory-maps. Hand-written because System.IO.Compression cannot pad local headers. Archives beyond
/// 4 GiB get ZIP64 records, as PyTorch's own writer (miniz) does, and torch.load and System.IO.Compression read them.
/// </summary>
/// <param name="s">Where the archive goes.</param>
/// <param name="zip64From">
/// The first offset written as ZIP64 rather than in the 32-bit fields; the format's own limit unless a test wants ZIP64
/// records without writing 4 GiB.
/// </param>
internal sealed class StoredZipWriter(Stream s, long zip64From = StoredZipWriter.Max32)
{
    /// <summary>0xFFFFFFFF: in a 32-bit field it means "see the ZIP64 record".</summary>
    public const long Max32 = uint.MaxValue;

    private readonly List<(byte[] Name, uint Crc, uint Size, long Offset)> _entries = [];
    private long _pos;

    public void Add(string name, byte[] data)
    {
        // Sizes stay 32-bit: one entry is one .NET array (< 2 GiB); only offsets and the directory can outgrow 4 GiB.
        var nameBytes = Encoding.UTF8.GetBytes(name);
        long dataStart = _pos + 30 + nameBytes.Length + 4;
        int pad = (int)((64 - dataStart % 64) % 64);
        ushort extraLen = (ushort)(4 + pad);
        uint crc = Crc32.Compute(data);
        var h = new byte[30];
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(0), 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), 20);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(6), 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(10), 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(12), 0x21);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(14), crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(18), (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(22), (uint)data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(26), (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(28), extraLen);
        s.Write(h);
        s.Write(nameBytes);
        s.Write(Extra(pad));
        s.Write(data);
        _entries.Add((nameBytes, crc, (uint)data.Length, _pos));
        _pos += 30 + nameBytes.Length + extraLen + data.Length;
    }

    private static byte[] Extra(int pad)
    {
        var e = new byte[4 + pad];
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(0), 0x4246); // "FB", the id PyTorch uses for padding
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(2), (ushort)pad);
        e.AsSpan(4).Fill((byte)'Z');
        return e;
    }

    public void Finish()
    {
        long cdStart = _pos;
        foreach (var (nameBytes, crc, size, offset) in _entries)
        {
            bool big = offset >= zip64From;
            var c = new byte[46];
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(0), 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(4), (ushort)(big ? 45 : 20));
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(6), (ushort)(big ? 45 : 20));
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(14), 0x21);
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(16), crc);
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(20), size);
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(24), size);
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(28), (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(30), (ushort)(big ? 12 : 0));
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(42), big ? uint.MaxValue : (uint)offset);
            s.Write(c);
            s.Write(nameBytes);
            _pos += 46 + nameBytes.Length;
            if (!big) continue;
            // The ZIP64 extra holds only the fields set to 0xFFFFFFFF above: here the local header's offset.
            var x = new byte[12];
            BinaryPrimitives.WriteUInt16LittleEndian(x.AsSpan(0), 0x0001);
            BinaryPrimitives.WriteUInt16LittleEndian(x.AsSpan(2), 8);
            BinaryPrimitives.WriteInt64LittleEndian(x.AsSpan(4), offset);
            s.Write(x);
            _pos += x.Length;
        }
        long cdSize = _pos - cdStart;
        bool zip64 = cdStart >= zip64From || _pos >= zip64From || _entries.Count >= ushort.MaxValue;
        if (zip64)
        {
            long recordStart = _pos;
            var r = new byte[56];
            BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(0), 0x06064b50);
            BinaryPrimitives.WriteInt64LittleEndian(r.AsSpan(4), r.Length - 12);
            BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(12), 45);
            BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(14), 45);
            BinaryPrimitives.WriteInt64LittleEndian(r.AsSpan(24), _entries.Count);
            BinaryPrimitives.WriteInt64LittleEndian(r.AsSpan(32), _entries.Count);
            BinaryPrimitives.WriteInt64LittleEndian(r.AsSpan(40), cdSize);
            BinaryPrimitives.WriteInt64LittleEndian(r.AsSpan(48), cdStart);
            s.Write(r);
            var locator = new byte[20];
            BinaryPrimitives.WriteUInt32LittleEndian(locator.AsSpan(0), 0x07064b50);
            BinaryPrimitives.WriteInt64LittleEndian(locator.AsSpan(8), recordStart);
            BinaryPrimitives.WriteUInt32LittleEndian(locator.AsSpan(16), 1);
            s.Write(locator);
            _pos += r.Length + locator.Length;
        }
        var end = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(0), 0x06054b50);
        ushort count = zip64 ? ushort.MaxValue : (ushort)_entries.Count;
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), count);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), count);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), zip64 ? uint.MaxValue : (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), zip64 ? uint.MaxValue : (uint)cdStart);
        s.Write(end);
    }
}

/// <summary>CRC-32 (IEEE) for zip entries; a table-driven copy of the textbook algorithm.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
