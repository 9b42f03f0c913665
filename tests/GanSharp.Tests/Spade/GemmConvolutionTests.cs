using GanSharp.Kernels;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Nn;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Tests.Spade;

/// <summary>
/// The shifted-GEMM convolution on oneDNN's sgemm against libtorch's convolution computed in float64: values and
/// all three gradients, for the kernel sizes, batch sizes and shapes SPADE's generator gives it.
/// </summary>
[Collection(GemmSwitch.Name)]
public class GemmConvolutionTests
{
    [Fact]
    public void AvailableWheneverTheSystemLibraryIsInstalled()
    {
        // CI installs libdnnl2, so the GEMM path is what the other tests here exercise; where the library exists it
        // must load and pass its check, or every SPADE layer silently falls back to the slower path.
        bool installed = File.Exists("/usr/lib/x86_64-linux-gnu/libdnnl.so.2") || File.Exists("/usr/lib64/libdnnl.so.2");
        Assert.Equal(installed, OneDnnGemm.UsesOneDnn || OneDnnGemm.HideOneDnn);
        if (!installed) Assert.Contains("libdnnl2", OneDnnGemm.Status, StringComparison.Ordinal);
        // Without it GanSharp's own GEMM serves the convolutions on any AVX2 processor.
        Assert.Equal(ManagedGemm.Best != ManagedGemm.Isa.None || installed, OneDnnGemm.Available || OneDnnGemm.ForcedOff);
    }

    /// <summary>
    /// Runs <paramref name="body"/> on every GEMM this machine has: oneDNN's where installed, then GanSharp's with each
    /// kernel the processor runs (the AVX2 one on AVX-512 machines too).
    /// </summary>
    internal static void OnEveryGemm(Action<string> body)
    {
        var (hide, isa) = (OneDnnGemm.HideOneDnn, ManagedGemm.Active);
        try
        {
            if (OneDnnGemm.UsesOneDnn) body("oneDNN");
            OneDnnGemm.HideOneDnn = true;
            foreach (var kernel in new[] { ManagedGemm.Isa.Avx512, ManagedGemm.Isa.Avx2 }.Where(k => k <= ManagedGemm.Best))
            {
                ManagedGemm.Active = kernel;
                body("GanSharp " + kernel);
            }
        }
        finally
        {
            (OneDnnGemm.HideOneDnn, ManagedGemm.Active) = (hide, isa);
        }
    }

    [Theory]
    // ≥ 256 positions and ≥ 32 input channels: the shifted path
    [InlineData(2, 32, 40, 3, 17, 19, true)]
    [InlineData(1, 48, 3, 3, 16, 16, true)]
    [InlineData(2, 33, 17, 1, 16, 17, false)]
    [InlineData(1, 32, 8, 5, 16, 17, true)]
    [InlineData(2, 32, 40, 3, 9, 13, true)] // fewer positions: the unfolded path
    [InlineData(2, 14, 40, 3, 9, 13, true)] // few channels: the unfolded path
    [InlineData(1, 6, 16, 1, 5, 7, false)]
    [InlineData(1, 32, 16, 3, 1, 1, true)] // one position: the bias must be copied, never written through
    [InlineData(1, 8, 16, 1, 1, 1, true)]
    // ≥ 8,192 positions: the products split over the OpenMP threads, in 2,048-column blocks with a remainder, and the
    // weight gradient split along the positions
    [InlineData(2, 32, 40, 3, 90, 93, true)]
    [InlineData(1, 36, 32, 5, 70, 121, false)]
    public void ValuesAndGradientsEqualLibTorchInFloat64(int n, int cin, int cout, int k, int h, int w, bool withBias)
    {
        if (!OneDnnGemm.Available) return; // the comparison needs the path; AvailableWhenever... pins when it exists
        OnEveryGemm(gemm =>
        {
            using var scope = NewDisposeScope();
            manual_seed(7);
            var x = randn(n, cin, h, w).requires_grad_();
            var weight = (randn(cout, cin, k, k) * 0.1).requires_grad_();
            var bias = withBias ? randn(cout).requires_grad_() : null;
            var upstream = randn(n, cout, h, w);
            Assert.True(GemmConvolution.Eligible(x, weight));

            using var biasBefore = bias?.detach().clone();
            var y = GemmConvolution.Conv2d(x, weight, bias, k / 2);
            Assert.True(y.requires_grad);
            if (withBias) Assert.Equal(0f, (bias!.detach() - biasBefore!).abs().max().item<float>());
            y.backward(new[] { upstream });

            var x64 = x.detach().to(float64).requires_grad_();
            var w64 = weight.detach().to(float64).requires_grad_();
            var b64 = bias?.detach().to(float64).requires_grad_();
            var y64 = F.conv2d(x64, w64, b64, padding: new long[] { k / 2, k / 2 });
            y64.backward(new[] { upstream.to(float64) });

            AssertClose(y64, y, $"{gemm}: output");
            AssertClose(x64.grad!, x.grad!, $"{gemm}: input gradient");
            AssertClose(w64.grad!, weight.grad!, $"{gemm}: weight gradient");
            if (withBias) AssertClose(b64!.grad!, bias!.grad!, $"{gemm}: bias gradient");
        });
    }

    [Theory]
    // 3x3 "same" layers on even sizes with ≥ 1,024 positions: Winograd F(2x2, 3x3) for the forward and input gradient
    [InlineData(1, 32, 40, 64, 64, true)] // 32 tiles per row: the vector loops only
    [InlineData(2, 48, 24, 66, 78, true)] // 39 tiles per row: 32 in the vector loops, 7 one by one
    [InlineData(1, 32, 16, 64, 80, false)] // 3 tile rows per block and a short last block
    [InlineData(1, 40, 8, 4, 1040, true)] // 520 tiles per row: blocks of 128 columns and a remainder
    [InlineData(3, 33, 64, 60, 70, true)] // more output than input channels, odd channel counts
    public void WinogradEqualsLibTorchInFloat64(int n, int cin, int cout, int h, int w, bool withBias)
    {
        if (!OneDnnGemm.Available) return;
        bool before = GemmConvolution.WinogradEnabled;
        GemmConvolution.WinogradEnabled = true;
        try
        {
            OnEveryGemm(gemm =>
            {
                using var scope = NewDisposeScope();
                manual_seed(11);
                var x = randn(n, cin, h, w).requires_grad_();
                var weight = (randn(cout, cin, 3, 3) * 0.1).requires_grad_();
                var bias = withBias ? randn(cout).requires_grad_() : null;
                var upstream = randn(n, cout, h, w);
                Assert.True(GemmConvolution.TakesWinograd(x, weight, 1, 1));

                var y = GemmConvolution.Conv2d(x, weight, bias, 1);
                y.backward(new[] { upstream });

                var x64 = x.detach().to(float64).requires_grad_();
                var w64 = weight.detach().to(float64).requires_grad_();
                var b64 = bias?.detach().to(float64).requires_grad_();
                var y64 = F.conv2d(x64, w64, b64, padding: new long[] { 1, 1 });
                y64.backward(new[] { upstream.to(float64) });

                AssertClose(y64, y, $"{gemm}: output");
                AssertClose(x64.grad!, x.grad!, $"{gemm}: input gradient");
                AssertClose(w64.grad!, weight.grad!, $"{gemm}: weight gradient");
                if (withBias) AssertClose(b64!.grad!, bias!.grad!, $"{gemm}: bias gradient");
            });
        }
        finally
        {
            GemmConvolution.WinogradEnabled = before;
        }
    }

    [Theory]
    [InlineData(1, 32, 8, 31, 40)] // odd height
    [InlineData(1, 32, 8, 32, 32)] // 1,024 positions: too few tiles
    [InlineData(1, 16, 8, 64, 64)] // few input channels: the unfolded path
    public void WinogradOnlyWhereItApplies(int n, int cin, int cout, int h, int w)
    {
        if (!OneDnnGemm.Available) return;
        bool before = GemmConvolution.WinogradEnabled;
        GemmConvolution.WinogradEnabled = true;
        try
        {
            using var scope = NewDisposeScope();
            var x = randn(n, cin, h, w);
            Assert.False(GemmConvolution.TakesWinograd(x, randn(cout, cin, 3, 3), 1, 1));
            Assert.False(GemmConvolution.TakesWinograd(x, randn(cout, cin, 5, 5), 1, 2));
            Assert.False(GemmConvolution.TakesWinograd(randn(n, cin, 64, 64), randn(cout, cin, 3, 3), 2, 1));
            Assert.True(GemmConvolution.TakesWinograd(randn(n, 32, 64, 64), randn(cout, 32, 3, 3), 1, 1));
        }
        finally
        {
            GemmConvolution.WinogradEnabled = before;
        }
    }

    [Theory]
    [InlineData(2, 16, 32, 4, 2, 2, 17, 17)] // SPADE discriminator's first layers: 4x4, stride 2, padding 2
    [InlineData(1, 64, 8, 4, 1, 2, 9, 9)] // its last layers: 4x4, stride 1, padding 2 (the output grows by one)
    [InlineData(2, 3, 16, 3, 2, 1, 16, 16)] // the VAE encoder's 3x3 stride-2 layers
    [InlineData(2, 16, 32, 4, 2, 2, 64, 64)] // enough columns for the input gradient's fold to run on both threads
    [InlineData(1, 8, 4, 5, 2, 1, 3, 4)] // the kernel overhangs the input: taps that touch no input position
    [InlineData(1, 10, 6, 3, 3, 0, 20, 17)]
    // Stride 1, ≥ 32 input channels, ≥ 256 output positions and any padding below the kernel size: the shifted path,
    // whose input-gradient padding is k-1-p and differs from p for even kernels
    [InlineData(2, 64, 1, 4, 1, 2, 90, 93)] // the discriminator's final one-channel layer, at ≥ 8,192 positions
    [InlineData(1, 32, 24, 4, 1, 1, 20, 23)]
    [InlineData(1, 32, 16, 3, 1, 0, 18, 20)]
    [InlineData(2, 40, 8, 2, 1, 0, 17, 17)]
    [InlineData(1, 32, 8, 5, 1, 4, 13, 14)]
    [InlineData(1, 48, 16, 3, 1, 2, 14, 16)]
    public void StridedAndEvenKernelsEqualLibTorchInFloat64(int n, int cin, int cout, int k, int stride, int padding, int h, int w)
    {
        if (!OneDnnGemm.Available) return;
        OnEveryGemm(gemm =>
        {
            using var scope = NewDisposeScope();
            manual_seed(8);
            var x = randn(n, cin, h, w).requires_grad_();
            var weight = (randn(cout, cin, k, k) * 0.1).requires_grad_();
            var bias = randn(cout).requires_grad_();
            var y = GemmConvolution.Conv2d(x, weight, bias, stride, padding);
            var upstream = randn(y.shape);
            y.backward(new[] { upstream });

            var x64 = x.detach().to(float64).requires_grad_();
            var w64 = weight.detach().to(float64).requires_grad_();
            var b64 = bias.detach().to(float64).requires_grad_();
            var y64 = F.conv2d(x64, w64, b64, strides: new long[] { stride, stride }, padding: new long[] { padding, padding });
            Assert.Equal(y64.shape, y.shape);
            y64.backward(new[] { upstream.to(float64) });
            AssertClose(y64, y, $"{gemm}: output");
            AssertClose(x64.grad!, x.grad!, $"{gemm}: input gradient");
            AssertClose(w64.grad!, weight.grad!, $"{gemm}: weight gradient");
            AssertClose(b64.grad!, bias.grad!, $"{gemm}: bias gradient");
        });
    }

    [Theory]
    [InlineData(90, 93, false)] // the shifted path's tap products
    [InlineData(90, 94, true)] // Winograd: blocks taken as they come free, the weight gradient in fixed shares
    public void RepeatedRunsGiveBitIdenticalValuesAndGradients(int h, int w, bool winograd)
    {
        // The threads take column blocks as they come free; exact resume needs every block summed the same way anyway.
        if (!OneDnnGemm.Available) return;
        bool before = GemmConvolution.WinogradEnabled;
        GemmConvolution.WinogradEnabled = winograd;
        try
        {
            using var scope = NewDisposeScope();
            manual_seed(9);
            var x = randn(2, 32, h, w);
            var weight = randn(40, 32, 3, 3) * 0.1;
            var bias = randn(40);
            var upstream = randn(2, 40, h, w);
            Assert.Equal(winograd, GemmConvolution.TakesWinograd(x, weight, 1, 1));
            float[][] Run()
            {
                var xi = x.clone().requires_grad_();
                var wi = weight.clone().requires_grad_();
                var bi = bias.clone().requires_grad_();
                var y = GemmConvolution.Conv2d(xi, wi, bi, 1);
                y.backward(new[] { upstream });
                return new[] { y, xi.grad!, wi.grad!, bi.grad! }.Select(t => t.detach().flatten().data<float>().ToArray()).ToArray();
            }
            var first = Run();
            for (int r = 0; r < 3; r++)
            {
                var again = Run();
                for (int i = 0; i < first.Length; i++) Assert.True(first[i].SequenceEqual(again[i]), $"run {r + 2}, tensor {i} differs");
            }
        }
        finally
        {
            GemmConvolution.WinogradEnabled = before;
        }
    }

    [Fact]
    public void GradientPenaltiesKeepTheDiscriminatorOnLibTorch()
    {
        // The GEMM path has no double backward; a penalty differentiates D twice, so SPADE's D must leave it.
        var model = new SpadeModelOptions { LabelNc = 3, ContainDontcareLabel = false, NoInstance = true, CropSize = 32, Ngf = 2, Ndf = 4 };
        bool[] Flags(GanSharp.Training.Tricks.TricksOptions tricks)
        {
            using var recipe = new SpadeRecipe(new SpadeModel(model, new SpadeLossOptions { NoVggLoss = true }), new GanSharp.Training.OptimOptions(),
                tricks);
            var d = recipe.Model.NetD!.modules();
            return d.OfType<SpectralNormConv2d>().Select(c => c.SingleBackwardGemm)
                .Concat(d.OfType<NLayerDiscriminator>().Select(n => n.FinalConvOnGemm)).ToArray();
        }
        var plain = Flags(new GanSharp.Training.Tricks.TricksOptions());
        var r1 = Flags(new GanSharp.Training.Tricks.TricksOptions { Penalty = GanSharp.Training.Tricks.PenaltyKind.R1 });
        Assert.NotEmpty(plain);
        Assert.All(plain, Assert.True);
        Assert.All(r1, Assert.False);
    }

    [Fact]
    public void ConvolutionsSharingOneUnfoldedLabelMapGiveTheirOwnValuesAndGradients()
    {
        if (!OneDnnGemm.Available) return;
        using var scope = NewDisposeScope();
        manual_seed(5);
        var seg = rand(2, 14, 12, 10); // 14 channels: the unfolded path, as SPADE's label convolutions
        var w1 = randn(128, 14, 3, 3).requires_grad_();
        var w2 = randn(128, 14, 3, 3).requires_grad_();
        var b1 = randn(128).requires_grad_();
        Tensor y1, y2;
        using (GemmConvolution.ShareUnfolds())
        {
            y1 = GemmConvolution.Conv2d(seg, w1, b1, 1, shareInput: true);
            y2 = GemmConvolution.Conv2d(seg, w2, null, 1, shareInput: true);
        }
        // Backward after the scope has freed the shared copy: each convolution kept what its weight gradient needs.
        (y1.square().sum() + y2.mul(y1.detach()).sum()).backward();
        var s64 = seg.to(float64);
        var w1d = w1.detach().to(float64).requires_grad_();
        var w2d = w2.detach().to(float64).requires_grad_();
        var b1d = b1.detach().to(float64).requires_grad_();
        var r1 = F.conv2d(s64, w1d, b1d, padding: new long[] { 1, 1 });
        var r2 = F.conv2d(s64, w2d, padding: new long[] { 1, 1 });
        (r1.square().sum() + r2.mul(r1.detach()).sum()).backward();
        AssertClose(r1, y1, "first output");
        AssertClose(r2, y2, "second output");
        AssertClose(w1d.grad!, w1.grad!, "first weight gradient");
        AssertClose(w2d.grad!, w2.grad!, "second weight gradient");
        AssertClose(b1d.grad!, b1.grad!, "bias gradient");
    }

    [Fact]
    public void InputsThatNeedNoGradientGetNone()
    {
        if (!OneDnnGemm.Available) return;
        using var scope = NewDisposeScope();
        manual_seed(3);
        var seg = randn(1, 32, 8, 8); // like a label map: no gradient wanted
        var weight = randn(16, 32, 3, 3).requires_grad_();
        GemmConvolution.Conv2d(seg, weight, null, 1).sum().backward();
        Assert.Null(seg.grad);
        var w64 = weight.detach().to(float64).requires_grad_();
        F.conv2d(seg.to(float64), w64, padding: new long[] { 1, 1 }).sum().backward();
        AssertClose(w64.grad!, weight.grad!, "weight gradient");
    }

    [Fact]
    public void SpadeGeneratorTrainsTheSameOnEitherPath()
    {
        if (!OneDnnGemm.Available) return;
        // ngf 32 puts every block conv and every gamma/beta conv on the GEMM path (≥ 32 input channels). Crop 64, not
        // 32: at 32 the head runs at 1x1, where batch norm over two values makes the true gradients of the first
        // layers zero and both paths return only rounding noise there.
        // No feature matching: its gradient is sign(fake - real) per D feature, and where those nearly agree the
        // rounding of either forward path flips signs (1e-3 of the gradients, in libtorch's path as well as ours).
        var options = new SpadeModelOptions { LabelNc = 5, NoInstance = true, CropSize = 64, Ngf = 32, Ndf = 16, NoGanFeatLoss = true };
        var losses = new SpadeLossOptions { NoVggLoss = true, NoGanFeatLoss = true };
        (double[] Output, double[] Grads) Run(bool gemm, ScalarType dtype = ScalarType.Float32)
        {
            bool before = OneDnnGemm.ForcedOff;
            OneDnnGemm.ForcedOff = !gemm;
            try
            {
                manual_seed(11);
                using var model = new SpadeModel(options, losses);
                model.NetG.to(dtype);
                model.NetD!.to(dtype);
                model.Train(true);
                using var scope = NewDisposeScope();
                manual_seed(12);
                var label = randint(0, 5, new long[] { 2, 1, 64, 64 });
                var sem = zeros(2, options.SemanticNc, 64, 64).scatter_(1, label, ones(2, 1, 64, 64)).to(dtype);
                var image = (rand(2, 3, 64, 64) * 2 - 1).to(dtype);
                var g = model.ComputeGeneratorLoss(sem, image);
                g.Total().backward();
                var grads = model.GeneratorParameters().Select(p => p.grad!.abs().sum().to(float64).item<double>()).ToArray();
                var fake = g.Fake.detach().flatten().to(float64).data<double>().ToArray();
                return (fake, grads);
            }
            finally
            {
                OneDnnGemm.ForcedOff = before;
            }
        }
        var aten = Run(gemm: false);
        var gemmRun = Run(gemm: true);
        // The head's batch norm over 2x2x2 values amplifies rounding in the first layers' gradients (1e-4 relative in
        // either float32 path): the float64 run says how far each path is from the exact values.
        var exact = Run(gemm: false, ScalarType.Float64);
        Assert.Equal(aten.Output.Length, gemmRun.Output.Length);
        double outDiff = aten.Output.Zip(gemmRun.Output, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(outDiff < 1e-5, $"generator output differs by {outDiff}");
        Assert.Equal(aten.Grads.Length, gemmRun.Grads.Length);
        for (int i = 0; i < aten.Grads.Length; i++)
        {
            double atenError = Math.Abs(aten.Grads[i] - exact.Grads[i]), gemmError = Math.Abs(gemmRun.Grads[i] - exact.Grads[i]);
            Assert.True(gemmError <= Math.Max(2 * atenError, 1e-4 * Math.Max(1, Math.Abs(exact.Grads[i]))),
                $"parameter {i}: |grad| sums {aten.Grads[i]} (libtorch), {gemmRun.Grads[i]} (GEMM), {exact.Grads[i]} (float64)");
        }
    }

    private static void AssertClose(Tensor expected64, Tensor actual, string what)
    {
        double scale = Math.Max(1.0, expected64.abs().max().item<double>());
        double diff = (actual.detach().to(float64) - expected64.detach()).abs().max().item<double>();
        Assert.True(diff <= 2e-5 * scale, $"{what} differs by {diff} (scale {scale})");
    }
}

/// <summary>Tests that flip <see cref="OneDnnGemm.ForcedOff"/> must not run beside tests that build SPADE models.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GemmSwitch
{
    public const string Name = "GEMM convolution switch";
}
