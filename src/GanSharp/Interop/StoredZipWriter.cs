using System.Buffers.Binary;
using System.Text;

namespace GanSharp.Interop;

/// <summary>
/// A minimal zip writer for stored (uncompressed) entries whose data start on 64-byte boundaries, the layout
/// PyTorch's reader memory-maps. Hand-written because System.IO.Compression cannot pad local headers.
/// </summary>
internal sealed class StoredZipWriter(Stream s)
{
    private readonly List<(string Name, uint Crc, uint Size, uint Offset, ushort Extra)> _entries = [];
    private long _pos;

    public void Add(string name, byte[] data)
    {
        if (_pos + data.LongLength + 1024 > uint.MaxValue)
            throw new GanSharpException(ErrorKind.Checkpoint, "this checkpoint would exceed 4 GiB, which GanSharp's .pth writer does not support yet; save with --save-format safetensors.");
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
        _entries.Add((name, crc, (uint)data.Length, (uint)_pos, extraLen));
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
        foreach (var (name, crc, size, offset, extra) in _entries)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var c = new byte[46];
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(0), 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(4), 20);
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(6), 20);
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(14), 0x21);
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(16), crc);
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(20), size);
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(24), size);
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(28), (ushort)nameBytes.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(30), 0);
            BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(42), offset);
            s.Write(c);
            s.Write(nameBytes);
            _pos += 46 + nameBytes.Length;
        }
        var end = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(0), 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), (uint)(_pos - cdStart));
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), (uint)cdStart);
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
