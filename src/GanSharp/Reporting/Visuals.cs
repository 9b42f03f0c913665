using GanSharp.Data;
using static TorchSharp.torch;

namespace GanSharp.Reporting;

/// <summary>Turns batches of images or label maps into pictures for pages.</summary>
internal static class Visuals
{
    /// <summary>
    /// Images in [-1, 1] ([N,3,H,W] or [N,1,H,W] float) become RGB as the reference's tensor2im ((x+1)/2*255);
    /// integer label maps [N,1,H,W] are coloured with <see cref="LabelColormap"/>. A batch is tiled left to right (at most 8).
    /// </summary>
    public static RgbImage ToRgb(Tensor batch)
    {
        var t = batch.detach().cpu();
        if (t.dim() == 3) t = t.unsqueeze(0);
        int n = (int)Math.Min(8, t.shape[0]);
        int c = (int)t.shape[1], h = (int)t.shape[2], w = (int)t.shape[3];
        var img = new RgbImage(w * n, h);
        bool isLabel = !t.is_floating_point();
        if (isLabel)
        {
            var values = t[TensorIndex.Slice(0, n), 0].to_type(ScalarType.Int64).data<long>().ToArray();
            var cmap = LabelColormap(256);
            for (int b = 0; b < n; b++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        long v = values[((long)b * h + y) * w + x];
                        img[b * w + x, y] = cmap[(int)Math.Clamp(v, 0, 255)];
                    }
            return img;
        }
        var f = ((t[TensorIndex.Slice(0, n)].to_type(ScalarType.Float32) + 1f) / 2f * 255f).clamp(0, 255).round().to_type(ScalarType.Byte);
        var px = f.data<byte>().ToArray();
        for (int b = 0; b < n; b++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    byte R = px[((long)(b * c + 0) * h + y) * w + x];
                    byte G = c >= 3 ? px[((long)(b * c + 1) * h + y) * w + x] : R;
                    byte B = c >= 3 ? px[((long)(b * c + 2) * h + y) * w + x] : R;
                    img[b * w + x, y] = (R, G, B);
                }
        return img;
    }

    /// <summary>
    /// The reference's label colormap (bit-interleaved, PASCAL VOC style, from id = class + 1), so our label
    /// pictures look like NVlabs/SPADE's. Index 255 (don't care) stays black.
    /// </summary>
    public static (byte R, byte G, byte B)[] LabelColormap(int n)
    {
        var cmap = new (byte, byte, byte)[n];
        for (int i = 0; i < n; i++)
        {
            int id = i + 1, r = 0, g = 0, b = 0;
            for (int j = 0; j < 7; j++)
            {
                r ^= (id & 1) << (7 - j);
                g ^= ((id >> 1) & 1) << (7 - j);
                b ^= ((id >> 2) & 1) << (7 - j);
                id >>= 3;
            }
            cmap[i] = ((byte)r, (byte)g, (byte)b);
        }
        if (n > 255) cmap[255] = (0, 0, 0);
        return cmap;
    }
}
