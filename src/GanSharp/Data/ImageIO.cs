using SkiaSharp;

namespace GanSharp.Data;

/// <summary>Reads and writes photos (PNG, JPEG, ...) through SkiaSharp. Label maps have their own lossless reader.</summary>
internal static class ImageIO
{
    /// <summary>Decodes any image SkiaSharp knows into 8-bit RGB (alpha dropped, grayscale expanded).</summary>
    public static RgbImage ReadRgb(string path) => ReadRgb(ReadAll(path), path);

    /// <summary>Decodes image bytes; <paramref name="name"/> is the file named in error messages.</summary>
    internal static RgbImage ReadRgb(byte[] bytes, string name)
    {
        var (info, rgba) = DecodeRgba(bytes, name);
        var rgb = new byte[info.Width * info.Height * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
        return new RgbImage(info.Width, info.Height, rgb);
    }

    /// <summary>Decodes the whole file and returns its size: for checks that must know every pixel is there.</summary>
    public static (int Width, int Height) Verify(string path)
    {
        var (info, _) = DecodeRgba(ReadAll(path), path);
        return (info.Width, info.Height);
    }

    // A compressed format cannot hold more pixels than its bytes allow: deflate expands at most 1032-fold, baseline
    // JPEG needs a few bits per 8x8 block. A header that claims far more is damaged (or a decompression bomb), and
    // SkiaSharp would allocate the whole bitmap before finding out. Up to 4096x4096 is always allowed, because
    // WebP lossless and progressive JPEG store a blank image in a few bytes at any size.
    private const long MaxPixelsPerByte = 8 * 1032;
    private const long AlwaysAllowedPixels = 1L << 24;

    private static (SKImageInfo Info, byte[] Rgba) DecodeRgba(byte[] bytes, string name)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new GanSharpException(ErrorKind.BadInput,
                $"{name} is not an image GanSharp can decode (PNG, JPEG, BMP, GIF, WebP), or its header is damaged: convert it, re-export it or "
                    + $"remove it from the folder.");
        int w = codec.Info.Width, h = codec.Info.Height;
        long pixels = (long)w * h;
        if (w <= 0 || h <= 0 || pixels > int.MaxValue / 4 || pixels > Math.Max(AlwaysAllowedPixels, bytes.LongLength * MaxPixelsPerByte))
            throw new GanSharpException(ErrorKind.BadInput,
                $"{name} claims a size of {w}x{h}, more than its {bytes.Length} bytes can hold: the file is damaged; re-export or re-copy it.");
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        // IncompleteInput means the decoder ran out of bytes and filled the rest with gray: a truncated file, which
        // would otherwise train and evaluate on made-up pixels without a word.
        if (result != SKCodecResult.Success)
            throw new GanSharpException(ErrorKind.BadInput, result == SKCodecResult.IncompleteInput
                ? $"{name} is truncated (its image data ends early): re-export or re-copy the file."
                : $"{name} could not be decoded ({result}): the file is damaged; re-export or re-copy it.");
        return (info, bitmap.Bytes);
    }

    private static byte[] ReadAll(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new GanSharpException(ErrorKind.BadInput, $"{path} does not exist: check the folder option that points at it.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GanSharpException(ErrorKind.BadInput, $"{path} cannot be read ({e.Message}): check its permissions.", e);
        }
    }

    /// <summary>Writes a lossless PNG through a temporary file and a rename, so a crash never leaves half a file.</summary>
    public static void WritePng(RgbImage image, string path) => Write(image, path, SKEncodedImageFormat.Png, 100);

    /// <summary>Writes a JPEG (lossy; for previews and tests of JPEG artefacts).</summary>
    public static void WriteJpeg(RgbImage image, string path, int quality) => Write(image, path, SKEncodedImageFormat.Jpeg, quality);

    private static void Write(RgbImage image, string path, SKEncodedImageFormat format, int quality)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var rgba = new byte[image.Width * image.Height * 4];
        var px = image.Pixels;
        for (int i = 0, j = 0; j < px.Length; i += 4, j += 3)
        {
            rgba[i] = px[j];
            rgba[i + 1] = px[j + 1];
            rgba[i + 2] = px[j + 2];
            rgba[i + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var data = bitmap.Encode(format, quality);
        AtomicFile.Write(path, stream => data.SaveTo(stream));
    }
}
