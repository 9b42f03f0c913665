using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace GanSharp.Data;

/// <summary>How a label or instance file stores its values.</summary>
public enum LabelFileKind
{
    /// <summary>Gray PNG of 1, 2, 4 or 8 bits: the sample is the value.</summary>
    Gray8,
    /// <summary>16-bit gray PNG (Cityscapes instance ids, label sets above 255 classes).</summary>
    Gray16,
    /// <summary>Palette PNG: the palette index is the value, the colours are ignored (as PIL mode "P").</summary>
    Palette,
    /// <summary>A NumPy .npy array of integers: the lossless route for ids above 65535.</summary>
    Npy,
    /// <summary>RGB/RGBA PNG: colours, not indices; must be converted first.</summary>
    Colour,
}

/// <summary>
/// Lossless reading and writing of label and instance maps.
/// <para>
/// Formats read: gray PNG (1/2/4/8/16 bits, the raw sample is the value; PIL would scale 1/2/4-bit gray to
/// 0..255, which for a label map is never what the author meant), palette PNG (the index is the value, as PIL's
/// mode "P"), gray+alpha PNG (the gray sample), and for instance maps whose ids exceed 65535 a NumPy
/// <c>.npy</c> file holding a 2-D C-ordered array of <c>u1, i1, u2, i2, i4, u4</c> or <c>i8</c> (values must fit
/// an int32). Colour PNGs are refused with a pointer to <c>gansharp data convert</c>.
/// </para>
/// </summary>
internal static partial class LabelIO
{
    /// <summary>Reads a label or instance map (PNG or .npy) losslessly.</summary>
    public static LabelMap Read(string path) => ReadWithKind(path).Map;

    /// <summary>Reads a map and says how it was stored.</summary>
    public static (LabelMap Map, LabelFileKind Kind) ReadWithKind(string path)
    {
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            return (ReadNpy(path), LabelFileKind.Npy);
        var png = PngCodec.Read(path);
        var kind = KindOf(png.ColorType, png.BitDepth);
        if (kind == LabelFileKind.Colour)
            throw ColourError(path, png.ColorType);
        int[] values;
        if (png.Channels == 1)
            values = png.Samples;
        else
        {
            // Gray + alpha: the alpha channel carries no class information.
            values = new int[png.Width * png.Height];
            for (int i = 0; i < values.Length; i++) values[i] = png.Samples[i * 2];
        }
        return (new LabelMap(png.Width, png.Height, values), kind);
    }

    /// <summary>Reads width, height and storage kind from the file header only.</summary>
    public static (int Width, int Height, LabelFileKind Kind) ReadInfo(string path)
    {
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            using var fs = File.OpenRead(path);
            var h = ReadNpyHeader(fs, path);
            return (h.Width, h.Height, LabelFileKind.Npy);
        }
        var (w, hgt, type, depth) = PngCodec.ReadHeader(path);
        return (w, hgt, KindOf(type, depth));
    }

    internal static LabelFileKind KindOf(PngColorType type, int depth) => type switch
    {
        PngColorType.Palette => LabelFileKind.Palette,
        PngColorType.Gray or PngColorType.GrayAlpha => depth == 16 ? LabelFileKind.Gray16 : LabelFileKind.Gray8,
        _ => LabelFileKind.Colour,
    };

    internal static GanSharpException ColourError(string path, PngColorType type) =>
        new(ErrorKind.Data,
            $"{path} is a colour {(type == PngColorType.Rgba ? "RGBA" : "RGB")} PNG, not a map of class indices: convert it with `gansharp data "
                + $"convert` (colour to index) or export it as gray or palette PNG.");

    /// <summary>
    /// Writes a map as the smallest lossless gray PNG (8-bit when every value is below 256, else 16-bit) through
    /// <see cref="AtomicFile"/>. Values above 65535 or below 0 need <see cref="WriteNpy"/>.
    /// </summary>
    public static void WritePng(LabelMap map, string path)
    {
        int min = map.Min(), max = map.Max();
        if (min < 0 || max > 65535)
            throw new GanSharpException(ErrorKind.Usage,
                $"{path} would need values {min}..{max}, which a gray PNG cannot hold: write it as .npy instead.");
        byte[] bytes = PngCodec.EncodeGray(map.Width, map.Height, map.Values, max < 256 ? 8 : 16);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>Writes a map as a palette PNG (indices below 256) with the given RGB palette, atomically.</summary>
    public static void WritePalettePng(LabelMap map, byte[] paletteRgb, string path) =>
        AtomicFile.WriteAllBytes(path, PngCodec.EncodePalette(map.Width, map.Height, map.Values, paletteRgb));

    /// <summary>Writes a map as a little-endian int32 <c>.npy</c> file (NumPy format 1.0), atomically.</summary>
    public static void WriteNpy(LabelMap map, string path)
    {
        string dict = $"{{'descr': '<i4', 'fortran_order': False, 'shape': ({map.Height}, {map.Width}), }}";
        // The header (magic, version, length, dict, padding, newline) is padded to a multiple of 64 bytes.
        int unpadded = 10 + dict.Length + 1;
        int total = (unpadded + 63) / 64 * 64;
        string header = dict + new string(' ', total - unpadded) + "\n";
        var bytes = new byte[total + map.Values.Length * 4];
        bytes[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY", bytes.AsSpan(1));
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        for (int i = 0; i < map.Values.Length; i++)
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(total + i * 4), map.Values[i]);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    private readonly record struct NpyHeader(int Width, int Height, string Descr, int DataOffset);

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranRegex();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();

    private static NpyHeader ReadNpyHeader(Stream s, string path)
    {
        Span<byte> pre = stackalloc byte[12];
        if (s.ReadAtLeast(pre, 10, throwOnEndOfStream: false) < 10 || pre[0] != 0x93 || Encoding.ASCII.GetString(pre.Slice(1, 5)) != "NUMPY")
            throw new GanSharpException(ErrorKind.BadInput, $"{path} is not a NumPy .npy file (bad magic): save it with numpy.save.");
        int major = pre[6];
        int headerLen, start;
        if (major == 1)
        {
            headerLen = BinaryPrimitives.ReadUInt16LittleEndian(pre[8..]);
            start = 10;
        }
        else
        {
            s.Position = 8;
            Span<byte> len4 = stackalloc byte[4];
            s.ReadExactly(len4);
            headerLen = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(len4));
            start = 12;
        }
        s.Position = start;
        var hb = new byte[headerLen];
        s.ReadExactly(hb);
        string header = Encoding.Latin1.GetString(hb);
        var descr = DescrRegex().Match(header);
        var fortran = FortranRegex().Match(header);
        var shape = ShapeRegex().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw new GanSharpException(ErrorKind.BadInput,
                $"{path} has an .npy header GanSharp cannot read ({header.Trim()}): save it with numpy.save.");
        if (fortran.Groups[1].Value == "True")
            throw new GanSharpException(ErrorKind.BadInput, $"{path} is stored in Fortran order: save numpy.ascontiguousarray(a) instead.");
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray();
        if (dims.Length == 3 && dims[2] == 1) dims = dims[..2];
        if (dims.Length != 2 || dims[0] <= 0 || dims[1] <= 0)
            throw new GanSharpException(ErrorKind.BadInput,
                $"{path} holds an array of shape ({shape.Groups[1].Value}): an instance map must be 2-D (height, width).");
        return new NpyHeader(dims[1], dims[0], descr.Groups[1].Value, start + headerLen);
    }

    private static LabelMap ReadNpy(string path)
    {
        using var fs = File.OpenRead(path);
        var h = ReadNpyHeader(fs, path);
        string d = h.Descr;
        char order = d[0];
        string code = d[1..];
        int size = code switch
        {
            "u1" or "i1" or "b1" => 1,
            "u2" or "i2" => 2,
            "u4" or "i4" => 4,
            "i8" or "u8" => 8,
            _ => throw new GanSharpException(ErrorKind.BadInput,
                $"{path} holds dtype {d}: instance maps must be integers (u1, u2, i4, i8, ...); convert with a.astype(numpy.int32)."),
        };
        if (size > 1 && order == '>')
            throw new GanSharpException(ErrorKind.BadInput, $"{path} is big-endian ({d}): save a.astype('<i4') instead.");
        int n = checked(h.Width * h.Height);
        var data = new byte[checked(n * size)];
        fs.Position = h.DataOffset;
        if (fs.ReadAtLeast(data, data.Length, throwOnEndOfStream: false) < data.Length)
            throw new GanSharpException(ErrorKind.BadInput, $"{path} is truncated (fewer values than its shape says): re-save it.");
        var values = new int[n];
        for (int i = 0; i < n; i++)
        {
            long v = code switch
            {
                "u1" or "b1" => data[i],
                "i1" => (sbyte)data[i],
                "u2" => BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(i * 2)),
                "i2" => BinaryPrimitives.ReadInt16LittleEndian(data.AsSpan(i * 2)),
                "i4" => BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(i * 4)),
                "u4" => BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(i * 4)),
                "u8" => (long)BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(i * 8)),
                _ => BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(i * 8)),
            };
            if (v is < int.MinValue or > int.MaxValue)
                throw new GanSharpException(ErrorKind.BadInput,
                    $"{path} has value {v} at pixel ({i % h.Width}, {i / h.Width}), beyond int32: renumber the instance ids.");
            values[i] = (int)v;
        }
        return new LabelMap(h.Width, h.Height, values);
    }
}
