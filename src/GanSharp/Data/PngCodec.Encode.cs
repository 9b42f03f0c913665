using System.Buffers.Binary;
using System.IO.Compression;

namespace GanSharp.Data;

// Writing PNGs: gray, palette and RGB encoders, chunk assembly and the CRC.
internal static partial class PngCodec
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Encodes single-channel samples as 8- or 16-bit gray PNG bytes (filter 0, zlib).</summary>
    public static byte[] EncodeGray(int width, int height, ReadOnlySpan<int> values, int bitDepth)
    {
        if (bitDepth is not (8 or 16)) throw new ArgumentOutOfRangeException(nameof(bitDepth), "gray PNGs are written with 8 or 16 bits");
        if (values.Length != width * height) throw new ArgumentException($"expected {width * height} values, got {values.Length}", nameof(values));
        int max = bitDepth == 8 ? 255 : 65535;
        int bytesPer = bitDepth / 8;
        int stride = width * bytesPer;
        var raw = new byte[(stride + 1) * height];
        for (int y = 0; y < height; y++)
        {
            int row = y * (stride + 1) + 1;
            for (int x = 0; x < width; x++)
            {
                int v = values[y * width + x];
                if ((uint)v > (uint)max) throw new ArgumentOutOfRangeException(nameof(values), $"value {v} does not fit {bitDepth} bits");
                if (bitDepth == 8) raw[row + x] = (byte)v;
                else
                {
                    raw[row + 2 * x] = (byte)(v >> 8);
                    raw[row + 2 * x + 1] = (byte)v;
                }
            }
        }
        return Assemble(width, height, bitDepth, PngColorType.Gray, null, raw);
    }

    /// <summary>Encodes 8-bit palette indices with the given RGB palette (what PIL writes for mode "P").</summary>
    public static byte[] EncodePalette(int width, int height, ReadOnlySpan<int> indices, byte[] paletteRgb)
    {
        if (paletteRgb.Length == 0 || paletteRgb.Length % 3 != 0 || paletteRgb.Length > 768)
            throw new ArgumentException("the palette needs 1..256 RGB entries", nameof(paletteRgb));
        int entries = paletteRgb.Length / 3;
        var raw = new byte[(width + 1) * height];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int v = indices[y * width + x];
                if ((uint)v >= (uint)entries) throw new ArgumentOutOfRangeException(nameof(indices), $"index {v} has no palette entry");
                raw[y * (width + 1) + 1 + x] = (byte)v;
            }
        }
        return Assemble(width, height, 8, PngColorType.Palette, paletteRgb, raw);
    }

    /// <summary>Encodes 8-bit RGB pixels (for tests and tools that need exact control of the bytes).</summary>
    public static byte[] EncodeRgb(int width, int height, byte[] rgb)
    {
        var raw = new byte[(width * 3 + 1) * height];
        for (int y = 0; y < height; y++)
            Array.Copy(rgb, y * width * 3, raw, y * (width * 3 + 1) + 1, width * 3);
        return Assemble(width, height, 8, PngColorType.Rgb, null, raw);
    }

    internal static byte[] Assemble(int width, int height, int bitDepth, PngColorType type, byte[]? palette, byte[] filteredRows,
        bool interlaced = false)
    {
        using var ms = new MemoryStream();
        ms.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr[4..], (uint)height);
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = (byte)type;
        ihdr[12] = (byte)(interlaced ? 1 : 0);
        WriteChunk(ms, "IHDR", ihdr);
        if (palette is not null) WriteChunk(ms, "PLTE", palette);
        using (var z = new MemoryStream())
        {
            using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true))
                zs.Write(filteredRows);
            WriteChunk(ms, "IDAT", z.ToArray());
        }
        WriteChunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> buf = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(buf, (uint)data.Length);
        s.Write(buf);
        var typeAndData = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typeAndData);
        data.CopyTo(typeAndData.AsSpan(4));
        s.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(buf, Crc(typeAndData));
        s.Write(buf);
    }

    private static uint Crc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }
}
