using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using GanSharp.Data;
using GanSharp.Interop;

namespace GanSharp.Tests.Fuzz;

/// <summary>A small PNG kept as its parts, so a mutant can be damaged in one part and re-assembled valid around it.</summary>
internal sealed record PngSeed(int Width, int Height, int BitDepth, PngColorType Type, byte[]? Palette, byte[] Filtered, bool Interlaced,
    byte[] Bytes)
{
    public byte[] Assemble(byte[] filtered) => PngCodec.Assemble(Width, Height, BitDepth, Type, Palette, filtered, Interlaced);

    /// <summary>One seed per colour type and bit depth the codec reads, at odd sizes, some interlaced, with rows
    /// under all five filters; plus the PIL-written fixtures.</summary>
    public static List<PngSeed> Build()
    {
        var r = new Random(20261206);
        var seeds = new List<PngSeed>();
        (PngColorType, int[])[] kinds =
        [
            (PngColorType.Gray, [1, 2, 4, 8, 16]), (PngColorType.Palette, [1, 2, 4, 8]), (PngColorType.Rgb, [8, 16]),
            (PngColorType.GrayAlpha, [8, 16]), (PngColorType.Rgba, [8, 16]),
        ];
        foreach (var (type, depths) in kinds)
            foreach (int depth in depths)
                foreach (bool interlaced in new[] { false, true })
                {
                    int w = 1 + r.Next(13), h = 1 + r.Next(11);
                    byte[]? palette = null;
                    if (type == PngColorType.Palette)
                    {
                        palette = new byte[3 * (1 << depth)];
                        r.NextBytes(palette);
                    }
                    var filtered = RandomRows(r, w, h, PngCodec.ChannelsOf(type) * depth, interlaced, type == PngColorType.Palette ? depth : 0);
                    var bytes = PngCodec.Assemble(w, h, depth, type, palette, filtered, interlaced);
                    seeds.Add(new PngSeed(w, h, depth, type, palette, filtered, interlaced, bytes));
                }
        return seeds;
    }

    /// <summary>Filtered rows for every pass: a random filter byte (0-4) and random data, which is valid under any filter.</summary>
    private static byte[] RandomRows(Random r, int w, int h, int bitsPerPixel, bool interlaced, int paletteBits)
    {
        var rows = new List<byte>();
        foreach (var (pw, ph) in Passes(w, h, interlaced))
        {
            int stride = (pw * bitsPerPixel + 7) / 8;
            for (int y = 0; y < ph; y++)
            {
                rows.Add((byte)r.Next(5));
                var row = new byte[stride];
                r.NextBytes(row);
                // Palette rows with filter 0 keep indices inside the palette for most pixels (SkiaSharp checks them).
                if (paletteBits > 0 && rows[^1] == 0) Array.Clear(row);
                rows.AddRange(row);
            }
        }
        return rows.ToArray();
    }

    private static IEnumerable<(int W, int H)> Passes(int w, int h, bool interlaced)
    {
        if (!interlaced)
        {
            yield return (w, h);
            yield break;
        }
        int[] x0 = [0, 4, 0, 2, 0, 1, 0], y0 = [0, 0, 4, 0, 2, 0, 1], dx = [8, 8, 4, 4, 2, 2, 1], dy = [8, 8, 8, 4, 4, 2, 2];
        for (int p = 0; p < 7; p++)
        {
            int pw = (w - x0[p] + dx[p] - 1) / dx[p], ph = (h - y0[p] + dy[p] - 1) / dy[p];
            if (pw > 0 && ph > 0) yield return (pw, ph);
        }
    }
}

/// <summary>PNG chunk surgery: each chunk's CRC is recomputed after the damage, so the damage gets past the CRC check.</summary>
internal static class PngTamper
{
    public static List<(string Type, byte[] Data)> Chunks(byte[] png)
    {
        var chunks = new List<(string, byte[])>();
        int pos = 8;
        while (pos + 12 <= png.Length)
        {
            int len = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos));
            chunks.Add((Encoding.ASCII.GetString(png, pos + 4, 4), png[(pos + 8)..(pos + 8 + len)]));
            pos += 12 + len;
        }
        return chunks;
    }

    public static byte[] Write(IEnumerable<(string Type, byte[] Data)> chunks, uint? lengthOverride = null, int overrideAt = -1)
    {
        using var ms = new MemoryStream();
        ms.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        int i = 0;
        Span<byte> n = stackalloc byte[4];
        foreach (var (type, data) in chunks)
        {
            BinaryPrimitives.WriteUInt32BigEndian(n, i == overrideAt && lengthOverride is { } o ? o : (uint)data.Length);
            ms.Write(n);
            var td = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            ms.Write(td);
            BinaryPrimitives.WriteUInt32BigEndian(n, Crc32.Compute(td));
            ms.Write(n);
            i++;
        }
        return ms.ToArray();
    }

    // 4 MB of zeros compress to a few KB: more than the header asks for must not be inflated.
    private static readonly Lazy<byte[]> Bomb = new(() =>
    {
        using var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) zs.Write(new byte[4 << 20]);
        return z.ToArray();
    });

    private static readonly uint[] Sizes = [0, 1, 2, 7, 8, 9, 255, 256, 4096, 65535, 65536, 0x0FFFFFFF, 0x1FFFFFFF, 0x7FFFFFFF, 0x80000000,
        0xFFFFFFFF];

    public static byte[] Mutate(Random r, PngSeed seed)
    {
        var chunks = Chunks(seed.Bytes);
        switch (r.Next(8))
        {
            case 0: // one chunk's data damaged, CRC fixed
                {
                    int k = r.Next(chunks.Count);
                    chunks[k] = (chunks[k].Type, Fuzz.Mutate.Any(r, chunks[k].Data));
                    return Write(chunks);
                }
            case 1: // IHDR fields: width, height, depth, colour type, compression, filter, interlace
                {
                    var ihdr = (byte[])chunks[0].Data.Clone();
                    switch (r.Next(4))
                    {
                        case 0: BinaryPrimitives.WriteUInt32BigEndian(ihdr, Sizes[r.Next(Sizes.Length)]); break;
                        case 1: BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), Sizes[r.Next(Sizes.Length)]); break;
                        case 2: ihdr[8 + r.Next(5)] = (byte)(r.Next(2) == 0 ? r.Next(20) : r.Next(256)); break;
                        default:
                            BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)(seed.Width + r.Next(-1, 3)));
                            BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)(seed.Height + r.Next(-1, 3)));
                            break;
                    }
                    chunks[0] = ("IHDR", ihdr);
                    return Write(chunks);
                }
            case 2: // the filtered rows damaged (filter bytes, lengths) and re-compressed: reaches the unfilter code
                {
                    var f = seed.Filtered;
                    f = r.Next(3) == 0 ? Fuzz.Mutate.Truncate(r, f)
                        : r.Next(2) == 0 ? [.. f, .. new byte[r.Next(1, 40)]] : Fuzz.Mutate.OverwriteBytes(r, f);
                    if (r.Next(2) == 0 && f.Length > 0) f[r.Next(f.Length)] = (byte)r.Next(5, 256);
                    return seed.Assemble(f);
                }
            case 3: // the compressed stream damaged, CRC fixed: reaches the inflater
                {
                    int k = chunks.FindIndex(c => c.Type == "IDAT");
                    chunks[k] = ("IDAT", Fuzz.Mutate.Several(r, chunks[k].Data));
                    return Write(chunks);
                }
            case 4: // a chunk length that does not match (CRC cannot cover it)
                {
                    int k = r.Next(chunks.Count);
                    return Write(chunks, Sizes[r.Next(Sizes.Length)], k);
                }
            case 5: // chunks dropped, doubled, reordered, split; a huge deflate bomb-like IDAT
                {
                    switch (r.Next(5))
                    {
                        case 0: chunks.RemoveAt(r.Next(chunks.Count)); break;
                        case 1: { int k = r.Next(chunks.Count); chunks.Insert(k, chunks[k]); break; }
                        case 2: { int a = r.Next(chunks.Count), b = r.Next(chunks.Count); (chunks[a], chunks[b]) = (chunks[b], chunks[a]); break; }
                        case 3:
                            {
                                int k = chunks.FindIndex(c => c.Type == "IDAT");
                                var d = chunks[k].Data;
                                int cut = r.Next(d.Length + 1);
                                chunks[k] = ("IDAT", d[..cut]);
                                chunks.Insert(k + 1, ("IDAT", d[cut..]));
                                break;
                            }
                        default:
                            chunks[chunks.FindIndex(c => c.Type == "IDAT")] = ("IDAT", Bomb.Value);
                            break;
                    }
                    return Write(chunks);
                }
            default:
                return Fuzz.Mutate.Several(r, seed.Bytes);
        }
    }
}
