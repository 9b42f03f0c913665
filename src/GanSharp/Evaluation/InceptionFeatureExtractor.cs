using GanSharp.Data;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Evaluation;

/// <summary>How images are resized to 299x299 before the Inception network.</summary>
public enum ResizeMode
{
    /// <summary>PyTorch bilinear, align_corners=false, no antialiasing: what pytorch-fid does.</summary>
    PyTorchBilinear,
    /// <summary>TF1 <c>resize_bilinear</c> (src = dst·in/out, no half-pixel offset): comparable with the original TF FID code.</summary>
    Tf1LegacyBilinear,
}

/// <summary>A row-major matrix of doubles: one feature vector (or logit vector) per row.</summary>
public sealed class FeatureMatrix
{
    public FeatureMatrix(int rows, int cols, double[] data)
    {
        if (data.Length != (long)rows * cols) throw new ArgumentException($"expected {rows}x{cols} values, got {data.Length}", nameof(data));
        Rows = rows;
        Cols = cols;
        Data = data;
    }

    public int Rows { get; }
    public int Cols { get; }
    public double[] Data { get; }

    public ReadOnlySpan<double> Row(int i) => Data.AsSpan(i * Cols, Cols);

    /// <summary>Rows stacked in order; all parts must have the same width.</summary>
    public static FeatureMatrix Concat(IReadOnlyList<FeatureMatrix> parts, int cols)
    {
        int rows = parts.Sum(p => p.Rows);
        var data = new double[(long)rows * cols];
        int offset = 0;
        foreach (var p in parts)
        {
            if (p.Cols != cols) throw new ArgumentException("feature widths differ", nameof(parts));
            p.Data.CopyTo(data, offset);
            offset += p.Data.Length;
        }
        return new FeatureMatrix(rows, cols, data);
    }
}

/// <summary>pool3 features and logits of the FID Inception for a set of images.</summary>
internal sealed record InceptionOutputs(FeatureMatrix Pool3, FeatureMatrix Logits);

/// <summary>
/// Turns images into FID Inception features exactly as pytorch-fid does: 8-bit pixels → [0, 1] → resize to
/// 299 → [-1, 1] → pool3. Generator output goes through uint8 quantisation first, as StyleGAN's metrics do, so a
/// fake scored from a tensor equals the same fake scored from its saved PNG.
/// </summary>
internal sealed class InceptionFeatureExtractor : IDisposable
{
    private readonly FidInceptionV3 net;
    private readonly bool ownsNet;

    /// <param name="net">The network (weights already loaded).</param>
    /// <param name="resize">Resize rule; changes the score, so it is part of the reported protocol.</param>
    /// <param name="ownsNet">Dispose the network with the extractor.</param>
    public InceptionFeatureExtractor(FidInceptionV3 net, ResizeMode resize = ResizeMode.PyTorchBilinear, bool ownsNet = true)
    {
        this.net = net;
        this.ownsNet = ownsNet;
        Resize = resize;
        net.eval();
    }

    public ResizeMode Resize { get; }

    /// <summary>Features of 8-bit images in batches; <paramref name="progress"/> receives the count done so far.</summary>
    public InceptionOutputs Extract(IReadOnlyList<RgbImage> images, int batchSize = 32, Action<int>? progress = null) =>
        Extract(images.Count, i => images[i], batchSize, progress);

    /// <summary>Features of images produced on demand (e.g. read lazily from disk) so a large folder never sits in memory.</summary>
    public InceptionOutputs Extract(int count, Func<int, RgbImage> image, int batchSize = 32, Action<int>? progress = null)
    {
        if (batchSize < 1) throw new GanSharpException(ErrorKind.Usage, $"the batch size must be at least 1, got {batchSize}.");
        var pools = new List<FeatureMatrix>();
        var logits = new List<FeatureMatrix>();
        for (int start = 0; start < count; start += batchSize)
        {
            int n = Math.Min(batchSize, count - start);
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            var batch = cat(Enumerable.Range(start, n).Select(i => Prepare(image(i))).ToList(), 0);   // [n, 3, 299, 299]
            var (p, l) = Forward(batch);
            pools.Add(p);
            logits.Add(l);
            progress?.Invoke(start + n);
        }
        return new InceptionOutputs(FeatureMatrix.Concat(pools, FidInceptionV3.FeatureDim), FeatureMatrix.Concat(logits, FidInceptionV3.NumClasses));
    }

    /// <summary>
    /// Features of generator output [N, 3, H, W] in [-1, 1]: quantised to uint8 with (x·127.5 + 128).clamp(0, 255)
    /// first, so the number equals the one of the saved images.
    /// </summary>
    public InceptionOutputs Extract(Tensor images, int batchSize = 32)
    {
        if (images.ndim != 4 || images.shape[1] != 3)
            throw new ArgumentException($"expected [N, 3, H, W] in [-1, 1], got [{string.Join(", ", images.shape)}]", nameof(images));
        var pools = new List<FeatureMatrix>();
        var logits = new List<FeatureMatrix>();
        long count = images.shape[0];
        for (long start = 0; start < count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            var x = images.narrow(0, start, Math.Min(batchSize, count - start)).detach().cpu().to_type(ScalarType.Float32);
            var u8 = (x * 127.5 + 128).clamp(0, 255).to_type(ScalarType.Byte);       // truncation, as StyleGAN
            var (p, l) = Forward(ResizeAndScale(u8.to_type(ScalarType.Float32) / 255.0));
            pools.Add(p);
            logits.Add(l);
        }
        return new InceptionOutputs(FeatureMatrix.Concat(pools, FidInceptionV3.FeatureDim), FeatureMatrix.Concat(logits, FidInceptionV3.NumClasses));
    }

    /// <summary>[1, 3, 299, 299] in [-1, 1] for one 8-bit image.</summary>
    internal Tensor Prepare(RgbImage img)
    {
        using var hwc = tensor(img.Pixels, [img.Height, img.Width, 3], ScalarType.Byte);
        var x = hwc.permute(2, 0, 1).unsqueeze(0).to_type(ScalarType.Float32) / 255.0;   // [1, 3, H, W] in [0, 1]
        return ResizeAndScale(x);
    }

    /// <summary>Resize [N, 3, H, W] in [0, 1] to 299 and map to [-1, 1].</summary>
    internal Tensor ResizeAndScale(Tensor x01) => 2 * ResizeTo299(x01, Resize) - 1;

    internal static Tensor ResizeTo299(Tensor x, ResizeMode mode) => mode switch
    {
        // pytorch-fid interpolates even at 299x299, where bilinear align_corners=false is the identity
        ResizeMode.PyTorchBilinear => F.interpolate(x, [FidInceptionV3.InputSize, FidInceptionV3.InputSize],
            mode: InterpolationMode.Bilinear, align_corners: false),
        ResizeMode.Tf1LegacyBilinear => Tf1Bilinear(x, FidInceptionV3.InputSize, FidInceptionV3.InputSize),
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    /// <summary>TF1 resize_bilinear without half-pixel centres: src = dst·in/out, clamped at the last row/column.</summary>
    internal static Tensor Tf1Bilinear(Tensor x, int outH, int outW)
    {
        using var scope = NewDisposeScope();
        var (y0, y1, fy) = Axis(x.shape[2], outH, x.dtype);
        var (x0, x1, fx) = Axis(x.shape[3], outW, x.dtype);
        var rows0 = x.index_select(2, y0);
        var rows1 = x.index_select(2, y1);
        var fxv = fx.view(1, 1, 1, outW);
        var top = rows0.index_select(3, x0) * (1 - fxv) + rows0.index_select(3, x1) * fxv;
        var bot = rows1.index_select(3, x0) * (1 - fxv) + rows1.index_select(3, x1) * fxv;
        var fyv = fy.view(1, 1, outH, 1);
        return (top * (1 - fyv) + bot * fyv).MoveToOuterDisposeScope();
    }

    private static (Tensor I0, Tensor I1, Tensor Frac) Axis(long inSize, int outSize, ScalarType dtype)
    {
        var i0 = new long[outSize];
        var i1 = new long[outSize];
        var frac = new double[outSize];
        double scale = (double)inSize / outSize;
        for (int o = 0; o < outSize; o++)
        {
            double src = o * scale;
            long f = (long)Math.Floor(src);
            i0[o] = f;
            i1[o] = Math.Min(f + 1, inSize - 1);
            frac[o] = src - f;
        }
        return (tensor(i0), tensor(i1), tensor(frac).to_type(dtype));
    }

    private (FeatureMatrix Pool, FeatureMatrix Logits) Forward(Tensor batch)
    {
        // Channels-last strides (from a permuted HWC source) pick other pooling kernels whose results drift
        // from the NCHW ones through the 94 layers; one layout keeps tensor and file inputs bit-identical.
        var pool = net.call(batch.contiguous());                    // [n, 2048]
        var logits = net.Logits(pool);                              // [n, 1008]
        return (ToMatrix(pool), ToMatrix(logits));
    }

    internal static FeatureMatrix ToMatrix(Tensor t)
    {
        using var d = t.to_type(ScalarType.Float64).contiguous();
        return new FeatureMatrix((int)t.shape[0], (int)t.shape[1], d.data<double>().ToArray());
    }

    public void Dispose()
    {
        if (ownsNet) net.Dispose();
    }
}
