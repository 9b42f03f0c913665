namespace GanSharp.Data;

/// <summary>
/// The array twin of <see cref="SpadeInput"/>: one-hot labels and instance edges computed on the loader threads.
/// Doing it with tensor ops on the consumer thread cost 12 ms per 256x256 sample on one core and up to 270 ms on
/// this 2-core machine under load (intra-op threads fighting the loader threads for cores), for work that is a
/// few array writes. Tests check both give identical values.
/// </summary>
internal static class SemanticMaps
{
    /// <summary>
    /// Planar float32 [classChannels (+1), H, W]: 1 at (label, y, x), then the edge map when
    /// <paramref name="instance"/> is given.
    /// </summary>
    /// <param name="label">Class per pixel, each in 0..classChannels-1 (validated earlier).</param>
    /// <param name="instance">Instance id per pixel, or null.</param>
    /// <param name="width">Map width.</param>
    /// <param name="height">Map height.</param>
    /// <param name="classChannels">label_nc, plus one with don't-care.</param>
    public static float[] Build(int[] label, int[]? instance, int width, int height, int classChannels)
    {
        int hw = width * height;
        var sem = new float[(classChannels + (instance is null ? 0 : 1)) * hw];
        for (int p = 0; p < hw; p++)
        {
            int c = label[p];
            if ((uint)c >= (uint)classChannels)
                throw new ArgumentOutOfRangeException(nameof(label), $"class {c} at pixel {p} is outside 0..{classChannels - 1}");
            sem[c * hw + p] = 1f;
        }
        if (instance is not null)
            Edges(instance, width, height, sem.AsSpan(classChannels * hw, hw));
        return sem;
    }

    /// <summary>Marks both pixels of every 4-neighbour pair whose ids differ (the reference's get_edges).</summary>
    public static void Edges(int[] instance, int width, int height, Span<float> edges)
    {
        for (int y = 0; y < height; y++)
        {
            int row = y * width;
            for (int x = 0; x < width; x++)
            {
                int p = row + x;
                int v = instance[p];
                if (x + 1 < width && instance[p + 1] != v)
                {
                    edges[p] = 1f;
                    edges[p + 1] = 1f;
                }
                if (y + 1 < height && instance[p + width] != v)
                {
                    edges[p] = 1f;
                    edges[p + width] = 1f;
                }
            }
        }
    }
}
