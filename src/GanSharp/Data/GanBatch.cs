using static TorchSharp.torch;

namespace GanSharp.Data;

/// <summary>
/// What the family recipes read from a batch: the data (points [N, 2] or images [N, 3, H, W] in [-1, 1]) and,
/// for class-conditional families, the class of each sample.
/// </summary>
public interface IGanBatch : IDisposable
{
    /// <summary>Points [N, 2] or images [N, 3, H, W] in [-1, 1].</summary>
    Tensor Data { get; }

    /// <summary>Class index per sample [N] (int64), or null when the data set has no classes.</summary>
    Tensor? Labels { get; }
}

/// <summary>A batch of images [N, 3, H, W] in [-1, 1] with their classes [N].</summary>
internal sealed class ImageBatch(Tensor images, Tensor labels) : IGanBatch
{
    public Tensor Data { get; } = images;

    public Tensor? Labels { get; } = labels;

    public void Dispose()
    {
        Data.Dispose();
        Labels?.Dispose();
    }
}
