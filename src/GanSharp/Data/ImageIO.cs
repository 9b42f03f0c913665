using SkiaSharp;

namespace GanSharp.Data;

/// <summary>Reads and writes photos (PNG, JPEG, ...) through SkiaSharp. Label maps have their own lossless reader.</summary>
public static class ImageIO
{
    /// <summary>Decodes any image SkiaSharp knows into 8-bit RGB (alpha dropped, grayscale expanded).</summary>
    public static RgbImage ReadRgb(string path)
    {
        if (!File.Exists(path))
            throw new GanSharpException(ErrorKind.BadInput, $"{path} does not exist: check the folder option that points at it.");
        using var codec = SKCodec.Create(path)
            ?? throw new GanSharpException(ErrorKind.BadInput, $"{path} is not an image GanSharp can decode (PNG, JPEG, BMP, GIF, WebP): convert it or remove it from the folder.");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            throw new GanSharpException(ErrorKind.BadInput, $"{path} could not be decoded ({result}): the file may be truncated; re-export it.");
        var rgba = bitmap.Bytes;
        var rgb = new byte[info.Width * info.Height * 3];
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
        return new RgbImage(info.Width, info.Height, rgb);
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
