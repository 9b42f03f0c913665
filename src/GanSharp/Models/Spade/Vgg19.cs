using GanSharp.Kernels;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Models.Spade;

/// <summary>
/// torchvision's VGG19 (configuration E, no batch norm) with its state_dict keys (<c>features.0.weight</c> ...
/// <c>classifier.6.bias</c>), used as the fixed feature extractor of SPADE's perceptual loss. The forward returns
/// relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1: the outputs of features[0:2], [2:7], [7:12], [12:21], [21:30].
/// </summary>
public sealed class Vgg19 : nn.Module<Tensor, Tensor[]>
{
    /// <summary>End index (exclusive) in <c>features</c> of each of the five slices.</summary>
    public static readonly int[] SliceEnds = { 2, 7, 12, 21, 30 };

    private static readonly int[] Config = { 64, 64, -1, 128, 128, -1, 256, 256, 256, 256, -1, 512, 512, 512, 512, -1, 512, 512, 512, 512, -1 };

    private readonly Sequential features;
    private readonly AdaptiveAvgPool2d avgpool;
    private readonly Sequential? classifier;

    /// <param name="includeClassifier">
    /// Build the 120M-parameter classifier too, so that a full torchvision state_dict loads strictly. The
    /// perceptual loss never runs it; leave it out to save ~490 MB.
    /// </param>
    /// <param name="device">Where to allocate.</param>
    public Vgg19(bool includeClassifier = false, Device? device = null) : base(nameof(Vgg19))
    {
        var layers = new List<nn.Module<Tensor, Tensor>>();
        long cin = 3;
        foreach (int c in Config)
        {
            if (c < 0)
            {
                layers.Add(nn.MaxPool2d(2, 2));
            }
            else
            {
                layers.Add(nn.Conv2d(cin, c, 3, padding: 1, device: device));
                layers.Add(nn.ReLU());
                cin = c;
            }
        }
        features = nn.Sequential(layers);
        avgpool = nn.AdaptiveAvgPool2d(new long[] { 7, 7 });
        if (includeClassifier)
        {
            classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096, device: device), nn.ReLU(), nn.Dropout(),
                nn.Linear(4096, 4096, device: device), nn.ReLU(), nn.Dropout(),
                nn.Linear(4096, 1000, device: device));
        }
        RegisterComponents();
        // A fixed feature extractor: never trained, so no gradients are kept for its weights.
        foreach (var p in parameters()) p.requires_grad = false;
    }

    /// <param name="x">[N, 3, H, W] image; SPADE feeds [-1, 1] without ImageNet normalisation.</param>
    /// <returns>The five slice outputs, finest first.</returns>
    public override Tensor[] forward(Tensor x)
    {
        var outs = new Tensor[SliceEnds.Length];
        int layer = 0;
        var h = x;
        using var scope = NewDisposeScope();
        for (int s = 0; s < SliceEnds.Length; s++)
        {
            for (; layer < SliceEnds[s]; layer++)
                // The perceptual loss differentiates VGG once, so its 3x3 convolutions may take the GEMM path.
                h = features[layer] is TorchSharp.Modules.Conv2d conv
                    ? GemmConvolution.Conv2d(h, conv.weight!, conv.bias, 1)
                    : ((nn.Module<Tensor, Tensor>)features[layer]).call(h);
            outs[s] = h;
        }
        foreach (var o in outs) o.MoveToOuterDisposeScope();
        return outs;
    }
}
