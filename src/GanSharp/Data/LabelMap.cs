namespace GanSharp.Data;

/// <summary>A single-channel integer map (class labels or instance ids) in row-major order.</summary>
public sealed class LabelMap
{
    public LabelMap(int width, int height, int[] values)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), "map sides must be positive");
        if (values.Length != checked(width * height))
            throw new ArgumentException($"expected {width * height} values for {width}x{height}, got {values.Length}", nameof(values));
        Width = width;
        Height = height;
        Values = values;
    }

    public LabelMap(int width, int height) : this(width, height, new int[checked(width * height)]) { }

    public int Width { get; }
    public int Height { get; }

    /// <summary>One value per pixel, rows top to bottom.</summary>
    public int[] Values { get; }

    public int this[int x, int y]
    {
        get => Values[y * Width + x];
        set => Values[y * Width + x] = value;
    }

    /// <summary>The largest value (0 for an empty map is impossible: sides are positive).</summary>
    public int Max()
    {
        int m = int.MinValue;
        foreach (int v in Values) if (v > m) m = v;
        return m;
    }

    /// <summary>The smallest value.</summary>
    public int Min()
    {
        int m = int.MaxValue;
        foreach (int v in Values) if (v < m) m = v;
        return m;
    }
}
