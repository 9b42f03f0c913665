using GanSharp.Kernels;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using static TorchSharp.torch;

namespace GanSharp.Tests.Spade;

/// <summary>
/// Inference with frozen weights: derived weights made once, eval mode's pictures (bit for bit with F(2x2, 3x3)
/// kept; within float rounding where F(4x4, 3x3) takes the 3x3 layers on AVX-512).
/// </summary>
[Collection(GemmSwitch.Name)] // flips GemmConvolution.InferenceWinograd4
public class FrozenInferenceTests
{
    // Crop 64 so that the last block's γ/β convolution (128 → 4 channels at 64x64) takes Winograd.
    private static readonly SpadeModelOptions Small = new()
    {
        LabelNc = 3, ContainDontcareLabel = false, NoInstance = true, CropSize = 64, Ngf = 2, Ndf = 4, NumD = 1, NLayersD = 2,
    };

    [Fact]
    public void FrozenWeightsGiveEvalModesPicturesBitForBitAndFollowTraining()
    {
        manual_seed(5);
        using var model = new SpadeModel(Small, new SpadeLossOptions { NoVggLoss = true });
        using var label = randint(0, 3, [2, 1, 64, 64]);
        using var sem = zeros(2, 3, 64, 64).scatter_(1, label, ones(2, 1, 64, 64));
        using var image = rand(2, 3, 64, 64) * 2 - 1;
        using (var probe = randn(1, 128, 64, 64))
        using (var w = randn(4, 128, 3, 3))
            Assert.True(GemmConvolution.TakesWinograd(probe, w, 1, 1));

        model.Eval();
        using var plain = model.Generate(sem);
        model.FreezeForInference();
        bool winograd4 = GemmConvolution.InferenceWinograd4;
        Tensor kept2x2;
        try
        {
            GemmConvolution.InferenceWinograd4 = false;
            kept2x2 = model.Generate(sem);
        }
        finally { GemmConvolution.InferenceWinograd4 = winograd4; }
        Assert.Equal(0f, (plain - kept2x2).abs().max().item<float>()); // eval mode's picture, bit for bit
        kept2x2.Dispose();
        using var first = model.Generate(sem);
        int made = model.FrozenForms;
        using var second = model.Generate(sem);
        // With F(4x4, 3x3) (AVX-512) the picture moves by float rounding only; pixels are in [-1, 1]. (Untrained running
        // statistics saturate most of this picture, so it may not move at all; Winograd4Tests checks the layers.)
        float moved = (plain - first).abs().max().item<float>();
        Assert.True(moved <= 2e-5f, $"the frozen picture differs from eval mode's by {moved}");
        Assert.Equal(0f, (first - second).abs().max().item<float>());
        // Spectral-norm weights, stacked γ/β kernels and biases, tap matrices and Winograd transforms.
        Assert.InRange(made, 20, 1000);
        Assert.Equal(made, model.FrozenForms);

        // Training thaws the weights; after an optimizer step the next frozen pictures follow the new weights.
        model.Train(true);
        Assert.Equal(0, model.FrozenForms);
        using (var optG = optim.Adam(model.GeneratorParameters(), 0.01, 0.0, 0.9))
        using (var optD = optim.Adam(model.DiscriminatorParameters(), 0.01, 0.0, 0.9))
            model.ReferenceIteration(optG, optD, sem, image);
        model.Eval();
        using var plainAfter = model.Generate(sem);
        model.FreezeForInference();
        using var frozenAfter = model.Generate(sem);
        Assert.True((plainAfter - frozenAfter).abs().max().item<float>() <= 2e-5f);
        Assert.True((plainAfter - plain).abs().max().item<float>() > 1e-3, "the step must have changed the picture");
    }
}
