using System.Buffers.Binary;
using System.IO.Compression;

namespace GanSharp.Data;

/// <summary>PNG colour types as the PNG specification numbers them.</summary>
internal enum PngColorType
{
    Gray = 0,
    Rgb = 2,
    Palette = 3,
    GrayAlpha = 4,
    Rgba = 6,
}

/// <summary>
/// A decoded PNG with its raw samples: gray values, palette indices or colour channels exactly as stored.
/// </summary>
internal sealed class PngImage
{
    internal PngImage(int width, int height, PngColorType colorType, int bitDepth, int[] samples, byte[]? palette)
    {
        Width = width;
        Height = height;
        ColorType = colorType;
        BitDepth = bitDepth;
        Samples = samples;
        Palette = palette;
    }

    public int Width { get; }
    public int Height { get; }
    public PngColorType ColorType { get; }

    /// <summary>Bits per sample as stored (1, 2, 4, 8 or 16).</summary>
    public int BitDepth { get; }

    /// <summary>Channels per pixel: 1 for gray and palette, 2 gray+alpha, 3 RGB, 4 RGBA.</summary>
    public int Channels => PngCodec.ChannelsOf(ColorType);

    /// <summary>Row-major samples, <see cref="Channels"/> per pixel, unscaled (a 4-bit gray 3 stays 3).</summary>
    public int[] Samples { get; }

    /// <summary>PLTE entries as R, G, B bytes for palette images; null otherwise.</summary>
    public byte[]? Palette { get; }
}

/// <summary>
/// A small PNG decoder and gray/palette encoder for label and instance maps. It exists because no library served
/// here reads palette PNGs as palette indices (PIL's mode "P", which SPADE data sets rely on) or 16-bit gray
/// losslessly: SkiaSharp expands both to 8-bit colour. Photos keep going through <see cref="ImageIO"/>.
/// </summary>
internal static partial class PngCodec
{
    private static ReadOnlySpan<byte> Signature => [137, 80, 78, 71, 13, 10, 26, 10];

    internal static int ChannelsOf(PngColorType t) => t switch
    {
        PngColorType.Gray or PngColorType.Palette => 1,
        PngColorType.GrayAlpha => 2,
        PngColorType.Rgb => 3,
        PngColorType.Rgba => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Decodes a PNG file; every failure is a <see cref="GanSharpException"/> that names the file.</summary>
    public static PngImage Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            throw new GanSharpException(ErrorKind.BadInput, $"{path} does not exist: check the folder option that points at it.");
        }
        catch (IOException e)
        {
            throw new GanSharpException(ErrorKind.BadInput, $"{path} cannot be read ({e.Message}): check its permissions.", e);
        }
        return Decode(bytes, path);
    }

    /// <summary>Reads only the IHDR chunk: width, height, colour type and bit depth, without inflating anything.</summary>
    public static (int Width, int Height, PngColorType ColorType, int BitDepth) ReadHeader(string path)
    {
        Span<byte> head = stackalloc byte[33];
        using (var fs = File.OpenRead(path))
        {
            int got = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            if (got < head.Length || !head[..8].SequenceEqual(Signature))
                throw NotPng(path);
        }
        var h = ParseHeader(head.Slice(16, 13), path);
        return (h.Width, h.Height, h.ColorType, h.BitDepth);
    }

    /// <summary>Decodes PNG bytes; <paramref name="name"/> is used in error messages.</summary>
    public static PngImage Decode(byte[] bytes, string name)
    {
        var (h, palette, idat) = ReadChunks(bytes, name);
        using (idat)
        {
            var raw = Inflate(h, idat, name);
            int channels = ChannelsOf(h.ColorType);
            var samples = new int[checked(h.Width * h.Height * channels)];
            if (!h.Interlaced)
            {
                DecodePass(raw, 0, h, h.Width, h.Height, name, (x, y, c, v) => samples[(y * h.Width + x) * channels + c] = v);
            }
            else
            {
                // Adam7: seven sub-images, each filtered on its own, scattered onto the full grid.
                int offset = 0;
                foreach (var (px0, py0, pdx, pdy, pw, ph) in Adam7Passes(h))
                    offset += DecodePass(raw, offset, h, pw, ph, name,
                        (x, y, c, v) => samples[((py0 + y * pdy) * h.Width + px0 + x * pdx) * channels + c] = v);
            }
            return new PngImage(h.Width, h.Height, h.ColorType, h.BitDepth, samples, palette);
        }
    }

    // Walks the chunks up to IEND, checking every CRC: the header, the palette and the concatenated image data.
    private static (Header Header, byte[]? Palette, MemoryStream Idat) ReadChunks(byte[] bytes, string name)
    {
        if (bytes.Length < 8 || !bytes.AsSpan(0, 8).SequenceEqual(Signature))
            throw NotPng(name);
        int pos = 8;
        Header? header = null;
        byte[]? palette = null;
        var idat = new MemoryStream();
        bool ended = false;
        while (!ended)
        {
            if (pos + 12 > bytes.Length)
                throw Truncated(name);
            // Read unsigned: a damaged length of 2^31 or more must be "truncated", not an overflow.
            uint declared = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(pos));
            if (pos + 12L + declared > bytes.Length)
                throw Truncated(name);
            int length = (int)declared;
            var type = bytes.AsSpan(pos + 4, 4);
            var data = bytes.AsSpan(pos + 8, length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(pos + 8 + length));
            if (Crc(bytes.AsSpan(pos + 4, 4 + length)) != crc)
                throw new GanSharpException(ErrorKind.BadInput,
                    $"{name} has a corrupt {System.Text.Encoding.ASCII.GetString(type)} chunk (CRC mismatch): re-export the file.");
            switch (System.Text.Encoding.ASCII.GetString(type))
            {
                case "IHDR":
                    header = ParseHeader(data, name);
                    break;
                case "PLTE":
                    if (length % 3 != 0 || length == 0)
                        throw new GanSharpException(ErrorKind.BadInput,
                            $"{name} has a PLTE chunk of {length} bytes (not a multiple of 3): re-export the file.");
                    palette = data.ToArray();
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
                case "IEND":
                    ended = true;
                    break;
            }
            pos += 12 + length;
        }
        if (header is not { } h)
            throw new GanSharpException(ErrorKind.BadInput, $"{name} has no IHDR chunk: it is not a valid PNG; re-export it.");
        if (h.ColorType == PngColorType.Palette && palette is null)
            throw new GanSharpException(ErrorKind.BadInput, $"{name} is a palette PNG without a PLTE chunk: re-export the file.");
        return (h, palette, idat);
    }

    // Inflates the image data into the filtered rows the header asks for.
    private static byte[] Inflate(Header h, MemoryStream idat, string name)
    {
        // The header's size decides the buffers, so it is checked against what the compressed bytes can hold
        // (deflate expands at most 1032-fold) before anything is allocated.
        long needed = FilteredSize(h);
        if (needed > Math.Min(Array.MaxLength, idat.Length * 1032 + 1024))
            throw new GanSharpException(ErrorKind.BadInput,
                $"{name} claims a size of {h.Width}x{h.Height}, more than its {idat.Length} bytes of image data can hold: the file is truncated or "
                    + $"damaged; re-export or re-copy it.");
        var raw = new byte[needed];
        try
        {
            idat.Position = 0;
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            int got = 0;
            while (got < raw.Length)
            {
                int n = z.Read(raw, got, raw.Length - got);
                if (n == 0) break;
                got += n;
            }
            if (got < raw.Length)
                throw Truncated(name);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // zlib reports some damage as ZLibException, an IOException; the source is memory, so no real I/O fails here.
            throw new GanSharpException(ErrorKind.BadInput, $"{name} has corrupt compressed image data ({e.Message}): re-export the file.", e);
        }
        return raw;
    }

    /// <summary>Bytes of filtered rows (each with its filter byte) the image's header asks for, over all passes.</summary>
    private static long FilteredSize(Header h)
    {
        if (!h.Interlaced) return PassSize(h, h.Width, h.Height);
        long total = 0;
        foreach (var pass in Adam7Passes(h)) total += PassSize(h, pass.Width, pass.Height);
        return total;
    }

    /// <summary>The non-empty Adam7 passes of an image: origin, step and size of each sub-image.</summary>
    private static IEnumerable<(int X0, int Y0, int Dx, int Dy, int Width, int Height)> Adam7Passes(Header h)
    {
        int[] x0 = [0, 4, 0, 2, 0, 1, 0], y0 = [0, 0, 4, 0, 2, 0, 1];
        int[] dx = [8, 8, 4, 4, 2, 2, 1], dy = [8, 8, 8, 4, 4, 2, 2];
        for (int p = 0; p < 7; p++)
        {
            int pw = (h.Width - x0[p] + dx[p] - 1) / dx[p];
            int ph = (h.Height - y0[p] + dy[p] - 1) / dy[p];
            if (pw > 0 && ph > 0) yield return (x0[p], y0[p], dx[p], dy[p], pw, ph);
        }
    }

    private static long PassSize(Header h, int width, int height) =>
        (((long)width * ChannelsOf(h.ColorType) * h.BitDepth + 7) / 8 + 1) * height;

    /// <summary>Unfilters one (sub-)image starting at <paramref name="offset"/> and returns the bytes it used.</summary>
    private static int DecodePass(byte[] raw, int offset, Header h, int width, int height, string name, Action<int, int, int, int> put)
    {
        int channels = ChannelsOf(h.ColorType);
        int bitsPerPixel = channels * h.BitDepth;
        // FilteredSize has checked that all passes fit the decompressed bytes, so this stride fits an int.
        int stride = (int)(((long)width * bitsPerPixel + 7) / 8);
        // The filters look back one whole pixel, or one byte when pixels are smaller than a byte.
        int bpp = Math.Max(1, bitsPerPixel / 8);
        long needed = (long)(stride + 1) * height;
        if (offset + needed > raw.Length)
            throw Truncated(name);
        var prev = new byte[stride];
        var cur = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            int rowStart = offset + y * (stride + 1);
            byte filter = raw[rowStart];
            raw.AsSpan(rowStart + 1, stride).CopyTo(cur);
            Unfilter(filter, cur, prev, bpp, name);
            for (int x = 0; x < width; x++)
            {
                for (int c = 0; c < channels; c++)
                {
                    int sampleIndex = x * channels + c;
                    int v = h.BitDepth switch
                    {
                        16 => (cur[sampleIndex * 2] << 8) | cur[sampleIndex * 2 + 1],
                        8 => cur[sampleIndex],
                        _ => SubByteSample(cur, sampleIndex, h.BitDepth),
                    };
                    put(x, y, c, v);
                }
            }
            (prev, cur) = (cur, prev);
        }
        return (int)needed;
    }

    private static int SubByteSample(byte[] row, int index, int bits)
    {
        int bitPos = index * bits;
        int shift = 8 - bits - (bitPos & 7);
        return (row[bitPos >> 3] >> shift) & ((1 << bits) - 1);
    }

    private static void Unfilter(byte filter, byte[] cur, byte[] prev, int bpp, string name)
    {
        int n = cur.Length;
        switch (filter)
        {
            case 0:
                break;
            case 1: // Sub
                for (int i = bpp; i < n; i++) cur[i] = (byte)(cur[i] + cur[i - bpp]);
                break;
            case 2: // Up
                for (int i = 0; i < n; i++) cur[i] = (byte)(cur[i] + prev[i]);
                break;
            case 3: // Average
                for (int i = 0; i < n; i++)
                {
                    int left = i >= bpp ? cur[i - bpp] : 0;
                    cur[i] = (byte)(cur[i] + ((left + prev[i]) >> 1));
                }
                break;
            case 4: // Paeth
                for (int i = 0; i < n; i++)
                {
                    int a = i >= bpp ? cur[i - bpp] : 0;
                    int b = prev[i];
                    int c = i >= bpp ? prev[i - bpp] : 0;
                    cur[i] = (byte)(cur[i] + Paeth(a, b, c));
                }
                break;
            default:
                throw new GanSharpException(ErrorKind.BadInput,
                    $"{name} uses PNG row filter {filter}, which does not exist: the file is corrupt; re-export it.");
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        return pb <= pc ? b : c;
    }

    private readonly record struct Header(int Width, int Height, int BitDepth, PngColorType ColorType, bool Interlaced);

    private static Header ParseHeader(ReadOnlySpan<byte> d, string name)
    {
        if (d.Length != 13)
            throw new GanSharpException(ErrorKind.BadInput, $"{name} has an IHDR chunk of {d.Length} bytes instead of 13: re-export the file.");
        uint uw = BinaryPrimitives.ReadUInt32BigEndian(d), uh = BinaryPrimitives.ReadUInt32BigEndian(d[4..]);
        int depth = d[8];
        int type = d[9];
        if (uw == 0 || uh == 0 || (ulong)uw * uh > int.MaxValue / 4)
            throw new GanSharpException(ErrorKind.BadInput, $"{name} claims a size of {uw}x{uh}, which GanSharp cannot hold: re-export it smaller.");
        int w = (int)uw, hgt = (int)uh;
        bool ok = type switch
        {
            0 => depth is 1 or 2 or 4 or 8 or 16,
            3 => depth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => depth is 8 or 16,
            _ => false,
        };
        if (!ok || d[10] != 0 || d[11] != 0 || d[12] > 1)
            throw new GanSharpException(ErrorKind.BadInput,
                $"{name} has colour type {type} with bit depth {depth}, which the PNG standard does not allow: re-export the file.");
        return new Header(w, hgt, depth, (PngColorType)type, d[12] == 1);
    }

    private static GanSharpException NotPng(string name) =>
        new(ErrorKind.BadInput, $"{name} is not a PNG file (bad signature): label and instance maps must be PNG; convert it.");

    private static GanSharpException Truncated(string name) =>
        new(ErrorKind.BadInput, $"{name} is truncated (its PNG data ends early): re-export or re-copy the file.");
}
