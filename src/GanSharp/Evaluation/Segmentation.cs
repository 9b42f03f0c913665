using GanSharp.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace GanSharp.Evaluation;

/// <summary>A pixel confusion matrix: rows are ground-truth classes, columns predicted classes.</summary>
internal sealed class ConfusionMatrix
{
    private readonly long[] counts;

    /// <param name="numClasses">Number of real classes (labels 0 .. numClasses−1).</param>
    /// <param name="ignoreIndex">The don't-care label: pixels with it are not counted (255 in Cityscapes/ADE20K conventions).</param>
    public ConfusionMatrix(int numClasses, int ignoreIndex = 255)
    {
        if (numClasses < 1) throw new GanSharpException(ErrorKind.Usage, $"the number of classes must be at least 1, got {numClasses}.");
        NumClasses = numClasses;
        IgnoreIndex = ignoreIndex;
        counts = new long[numClasses * numClasses];
    }

    public int NumClasses { get; }
    public int IgnoreIndex { get; }

    /// <summary>Pixels of ground-truth class <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int truth, int predicted] => counts[truth * NumClasses + predicted];

    /// <summary>Adds one image's labels and predictions (same length); <paramref name="source"/> names it in errors.</summary>
    public void Add(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, string source)
    {
        if (truth.Length != predicted.Length)
            throw new GanSharpException(ErrorKind.Data,
                $"{source}: the label map has {truth.Length} pixels but the prediction {predicted.Length}: give label maps at the size of the "
                    + $"images.");
        for (int i = 0; i < truth.Length; i++)
        {
            int t = truth[i];
            if (t == IgnoreIndex) continue;
            int p = predicted[i];
            if ((uint)t >= (uint)NumClasses)
                throw new GanSharpException(ErrorKind.Data,
                    $"{source}: label {t} is outside 0..{NumClasses - 1} and is not the ignore label {IgnoreIndex}: set --num-classes or "
                        + $"--ignore-index.");
            if ((uint)p >= (uint)NumClasses)
                throw new GanSharpException(ErrorKind.Data,
                    $"{source}: the segmenter predicted class {p}, outside 0..{NumClasses - 1}: set --num-classes to the segmenter's class count.");
            counts[t * NumClasses + p]++;
        }
    }

    /// <summary>Correct pixels over counted pixels.</summary>
    public double PixelAccuracy
    {
        get
        {
            long total = counts.Sum(), correct = 0;
            for (int c = 0; c < NumClasses; c++) correct += this[c, c];
            return total == 0 ? double.NaN : (double)correct / total;
        }
    }

    /// <summary>IoU per class, NaN for a class absent from both truth and prediction.</summary>
    public double[] ClassIoU()
    {
        var iou = new double[NumClasses];
        for (int c = 0; c < NumClasses; c++)
        {
            long tp = this[c, c], row = 0, col = 0;
            for (int k = 0; k < NumClasses; k++)
            {
                row += this[c, k];
                col += this[k, c];
            }
            long union = row + col - tp;
            iou[c] = union == 0 ? double.NaN : (double)tp / union;
        }
        return iou;
    }

    /// <summary>Mean IoU over classes that occur (nanmean, as the DRN/mmseg evaluation scripts).</summary>
    public double MeanIoU
    {
        get
        {
            var present = ClassIoU().Where(v => !double.IsNaN(v)).ToList();
            return present.Count == 0 ? double.NaN : present.Average();
        }
    }
}

/// <summary>Memory layout of the segmenter's image input.</summary>
public enum SegmenterLayout
{
    /// <summary>[N, 3, H, W] (PyTorch exports).</summary>
    Nchw,
    /// <summary>[N, H, W, 3] (TF exports).</summary>
    Nhwc,
}

/// <summary>What the segmenter's first output holds.</summary>
public enum SegmenterOutput
{
    /// <summary>Class scores [N, C, H, W]; the prediction is the argmax over C.</summary>
    LogitsNchw,
    /// <summary>Class indices [N, H, W] (int64 or int32), e.g. a model exported with its ArgMax.</summary>
    LabelMap,
}

/// <summary>How to feed a segmenter: RGB scaled to [0, 1], then (x − mean) / std per channel.</summary>
/// <param name="Layout">Input layout.</param>
/// <param name="Output">Kind of the first output.</param>
/// <param name="Mean">Per-channel mean subtracted after scaling to [0, 1] (ImageNet: 0.485, 0.456, 0.406).</param>
/// <param name="Std">Per-channel std divided by (ImageNet: 0.229, 0.224, 0.225).</param>
public sealed record SegmenterOptions(
    SegmenterLayout Layout = SegmenterLayout.Nchw,
    SegmenterOutput Output = SegmenterOutput.LogitsNchw,
    double[]? Mean = null,
    double[]? Std = null)
{
    internal double[] MeanOrDefault => Mean ?? [0, 0, 0];
    internal double[] StdOrDefault => Std ?? [1, 1, 1];
}

/// <summary>
/// Runs a user-supplied ONNX segmentation network (the DRN, UperNet or DeepLab models the papers use, exported
/// to ONNX) on one image at a time, so images of any size work with dynamic-axis exports.
/// </summary>
internal sealed class OnnxSegmenter : IDisposable
{
    private readonly InferenceSession session;
    private readonly string inputName;
    private readonly SegmenterOptions options;

    public OnnxSegmenter(string modelPath, SegmenterOptions? options = null)
    {
        if (!File.Exists(modelPath))
            throw new GanSharpException(ErrorKind.BadInput, $"the segmenter {modelPath} does not exist: pass an ONNX file with --segmenter.");
        this.options = options ?? new SegmenterOptions();
        if (this.options.MeanOrDefault.Length != 3 || this.options.StdOrDefault.Length != 3 || this.options.StdOrDefault.Any(s => s <= 0))
            throw new GanSharpException(ErrorKind.Usage,
                "the segmenter mean and std need three values each and positive stds: e.g. --seg-mean 0.485,0.456,0.406 --seg-std "
                    + "0.229,0.224,0.225.");
        try
        {
            using var so = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount };
            session = new InferenceSession(modelPath, so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new GanSharpException(ErrorKind.BadInput,
                $"{modelPath} is not an ONNX model ONNX Runtime can load ({e.Message.Split('\n')[0]}): export it again with opset 13 or newer.", e);
        }
        inputName = session.InputMetadata.Keys.First();
    }

    /// <summary>Predicted class per pixel, row-major, for one image.</summary>
    public int[] Predict(RgbImage image)
    {
        int h = image.Height, w = image.Width;
        var mean = options.MeanOrDefault;
        var std = options.StdOrDefault;
        var input = options.Layout == SegmenterLayout.Nchw
            ? new DenseTensor<float>([1, 3, h, w])
            : new DenseTensor<float>([1, h, w, 3]);
        var px = image.Pixels;
        var buf = input.Buffer.Span;
        for (int i = 0; i < h * w; i++)
            for (int c = 0; c < 3; c++)
            {
                float v = (float)((px[i * 3 + c] / 255.0 - mean[c]) / std[c]);
                buf[options.Layout == SegmenterLayout.Nchw ? c * h * w + i : i * 3 + c] = v;
            }
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, input)]);
        var output = results[0];
        return options.Output == SegmenterOutput.LogitsNchw ? ArgmaxLogits(output, h, w) : LabelMap(output, h, w);
    }

    private static int[] ArgmaxLogits(DisposableNamedOnnxValue output, int h, int w)
    {
        var t = output.AsTensor<float>();
        var dims = t.Dimensions.ToArray();
        if (dims.Length != 4 || dims[0] != 1 || dims[2] != h || dims[3] != w)
            throw new GanSharpException(ErrorKind.Data,
                $"the segmenter output is [{string.Join(", ", dims)}], not logits [1, C, {h}, {w}]: use --seg-output labels for a label map, or a "
                    + $"model that keeps the input size.");
        int classes = dims[1];
        var data = t is DenseTensor<float> dt ? dt.Buffer.Span : t.ToArray().AsSpan();
        var result = new int[h * w];
        for (int i = 0; i < h * w; i++)
        {
            int best = 0;
            float bestV = data[i];
            for (int c = 1; c < classes; c++)
            {
                float v = data[c * h * w + i];
                if (v > bestV) { bestV = v; best = c; }   // first maximum wins, as torch/numpy argmax
            }
            result[i] = best;
        }
        return result;
    }

    private static int[] LabelMap(DisposableNamedOnnxValue output, int h, int w)
    {
        int[] values;
        int[] dims;
        switch (output.Value)
        {
            case Tensor<long> l:
                dims = l.Dimensions.ToArray();
                values = l.ToArray().Select(v => (int)v).ToArray();
                break;
            case Tensor<int> i:
                dims = i.Dimensions.ToArray();
                values = i.ToArray();
                break;
            default:
                throw new GanSharpException(ErrorKind.Data,
                    "the segmenter output is not an int64/int32 label map: use --seg-output logits for class scores.");
        }
        if (values.Length != h * w || dims[^1] != w || dims[^2] != h)
            throw new GanSharpException(ErrorKind.Data,
                $"the segmenter label map is [{string.Join(", ", dims)}], not [1, {h}, {w}]: use a model that keeps the input size.");
        return values;
    }

    public void Dispose() => session.Dispose();
}
