using GanSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Kernels;

/// <summary>
/// Convolutions on oneDNN's sgemm (<see cref="OneDnnGemm"/>) instead of libtorch's im2col + MKL path, as TorchSharp
/// custom autograd functions. libtorch has no such convolution, hence this code.
/// <para>
/// Why: on the AMD machines we run on, libtorch's MKL GEMM takes its AVX2 path (~110 GFLOP/s on 2 cores against
/// oneDNN's ~360), and its im2col buffer for a 128-channel 3x3 layer at 256² is 302 MB (two in backward).
/// </para>
/// <para>
/// Shifted path (stride 1, any k×k kernel and padding p &lt; k, ≥ 32 input channels, ≥ 256 output positions):
/// flattening one zero-padded sample to [C, rows·(W+2p)] makes every kernel tap a contiguous column window of it, so
/// output = Σ_tap W_tap · X[:, off_tap:] needs no column buffer; the k-1 extra columns per row it computes are never
/// written out. Measured on 2 cores: a 128→128 3x3 layer at 256² runs forward + backward in ~0.4x libtorch's time.
/// Winograd (3x3 "same" layers on even sizes ≥ 64x64 among those, where AVX-512 is available): forward and both
/// gradients on F(2x2, 3x3), 2.25x fewer multiplications (<see cref="OneDnnGemm.Winograd3x3"/>).
/// Unfolded path (everything else: few channels, strides, small outputs): <c>F.unfold</c>, then one GEMM of inner
/// dimension Cin·k².
/// </para>
/// <para>
/// The backward is hand-written and has no double backward, so only layers that are never differentiated twice may
/// use it: SPADE's generator, encoder and VGG, and its discriminator while no gradient penalty is on
/// (<see cref="Nn.SpectralNormConv2d.SingleBackwardGemm"/>, <c>MultiscaleDiscriminator.SingleBackwardGemm</c>).
/// </para>
/// </summary>
public static partial class GemmConvolution
{
    // Below this many input channels a GEMM's inner dimension is too short for the tap-wise split to pay.
    private const long MinInputChannels = 32;

    /// <summary>Whether Conv2d takes a GEMM path for this input and weight (else libtorch's).</summary>
    public static bool Eligible(Tensor input, Tensor weight) =>
        OneDnnGemm.Available
        && input.device_type == DeviceType.CPU && input.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && input.dim() == 4 && weight.dim() == 4 && weight.shape[1] == input.shape[1] && weight.shape[2] == weight.shape[3];

    // The shifted path: stride 1, any padding below the kernel size, enough input channels for each tap's GEMM
    // (inner dimension Cin) to run at full speed. Everything else (SPADE's label MLP and first conv with their few
    // channels, the discriminator's 4x4 stride-2 layers) unfolds the input once and runs one GEMM of inner dimension
    // Cin·k²; its column buffer is small exactly for those layers.
    private static bool Shifts(Tensor input, Tensor weight, long stride, long padding)
    {
        long k = weight.shape[2];
        long ho = input.shape[2] + 2 * padding - k + 1, wo = input.shape[3] + 2 * padding - k + 1;
        return stride == 1 && padding >= 0 && padding < k && input.shape[1] >= MinInputChannels
            && ho >= 1 && wo >= 1 && ho * wo >= MinShiftedPositions;
    }

    // Below this many output positions one GEMM of inner dimension Cin·k² over a small column buffer does as well as
    // the tap-wise products, and it sums in the order libtorch does: after one Adam step, which turns a gradient into
    // its sign, weights whose gradient is all but zero then still match the reference's to 1e-5 (its parity fixtures'
    // discriminators run 6x6 and 9x9 outputs through a 4x4 stride-1 layer).
    private const long MinShiftedPositions = 256;

    // Below this many output positions Winograd's blocks are too few and small to beat the tap-wise products.
    private const long MinWinogradPositions = 4096;

    /// <summary>Environment variable that turns Winograd F(2x2, 3x3) off when set to 0 (for A/B measurements).</summary>
    public const string WinogradVariable = "GANSHARP_WINOGRAD";

    /// <summary>
    /// Whether 3x3 "same" layers on even sizes take Winograd F(2x2, 3x3) for their forward and input gradient (2.25x
    /// fewer multiplications; the weight gradient stays tap-wise). On by default where AVX2 or AVX-512 runs the transforms.
    /// </summary>
    public static bool WinogradEnabled { get; set; } = OneDnnGemm.WinogradAccelerated
        && Environment.GetEnvironmentVariable(WinogradVariable) != "0";

    /// <summary>
    /// Whether a frozen model's forward (<c>SpadeModel.FreezeForInference</c>: no autograd, weights memoised) takes
    /// Winograd F(4x4, 3x3) on sides that are multiples of 4 (1.8x fewer multiplications than F(2x2, 3x3); AVX-512
    /// only). <c>GANSHARP_WINOGRAD=2x2</c> keeps F(2x2, 3x3) there, for A/B measurements.
    /// </summary>
    public static bool InferenceWinograd4 { get; set; } = Environment.GetEnvironmentVariable(WinogradVariable) != "2x2";

    /// <summary>
    /// conv2d(input, weight, bias, stride, padding) (square kernel, groups 1), on a GEMM path when
    /// <see cref="Eligible"/>, otherwise libtorch's. Gradients flow to all three as usual, once: no double backward.
    /// </summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding, bool shareInput = false)
    {
        if (!Eligible(input, weight))
            return F.conv2d(input, weight, bias, strides: new[] { stride, stride }, padding: new[] { padding, padding });
        // TorchSharp allocates an output-sized placeholder per call for its own bookkeeping; this scope frees it now.
        using var scope = NewDisposeScope();
        Tensor output;
        if (Shifts(input, weight, stride, padding))
            output = bias is null ? ShiftedGemmConv.apply(input, weight, padding) : ShiftedGemmConv.apply(input, weight, padding, bias);
        else
        {
            pendingColumns = shareInput ? SharedColumns(input, weight.shape[2], stride, padding) : null;
            output = bias is null
                ? UnfoldedGemmConv.apply(input, weight, stride, padding)
                : UnfoldedGemmConv.apply(input, weight, stride, padding, bias);
        }
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>Which path SPADE's convolutions take, for <c>doctor --env</c>, run headers and benchmarks.</summary>
    public static string Status =>
        !OneDnnGemm.Available ? OneDnnGemm.Status
        : WinogradEnabled ? $"{OneDnnGemm.Status}, Winograd F(2x2, 3x3) for 3x3 layers from 64x64"
            + (InferenceWinograd4 && OneDnnGemm.Winograd4Available ? " (F(4x4, 3x3) at inference)" : "")
        : OneDnnGemm.WinogradAccelerated ? $"{OneDnnGemm.Status}, Winograd off ({WinogradVariable}=0)"
        : $"{OneDnnGemm.Status}, no Winograd (this processor has neither AVX2 nor AVX-512)";

    /// <summary>Whether the convolution runs this layer's forward and input gradient as Winograd F(2x2, 3x3).</summary>
    public static bool TakesWinograd(Tensor input, Tensor weight, long stride, long padding) =>
        Eligible(input, weight) && Shifts(input, weight, stride, padding) && new Geometry(input, weight, padding).UsesWinograd;

    /// <summary>Stride 1, "same" padding k/2: the generator's and VGG's convolutions.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long padding, bool shareInput = false) =>
        Conv2d(input, weight, bias, 1, padding, shareInput);

    // Unfolded label maps of the current ShareUnfolds scope, by input (the same tensor object) and geometry.
    [ThreadStatic]
    private static Dictionary<(Tensor Input, long K, long Stride, long Padding), Tensor>? sharedColumns;

    // The shared columns Conv2d looked up for the UnfoldedGemmConv.forward it is about to run.
    [ThreadStatic]
    private static Tensor? pendingColumns;

    /// <summary>
    /// Until the returned scope ends, convolutions called with <c>shareInput</c> on the same input tensor object with
    /// the same kernel size, stride and padding share one unfolded copy of it. SPADE's generator feeds one resized
    /// label map to the 2-3 label convolutions of every block at a resolution; their im2col took ~4 % of a 256²
    /// training iteration. The input must stay alive and unchanged while the scope is open.
    /// </summary>
    public static UnfoldSharing ShareUnfolds()
    {
        bool outer = sharedColumns is null;
        sharedColumns ??= new(new ReferenceKeyComparer());
        return new UnfoldSharing(outer);
    }

    /// <summary>Frees the shared unfolded inputs (the backward of each convolution keeps its own view).</summary>
    public readonly struct UnfoldSharing(bool outer) : IDisposable
    {
        public void Dispose()
        {
            if (!outer || sharedColumns is null) return;
            foreach (var t in sharedColumns.Values) t.Dispose();
            sharedColumns = null;
        }
    }

    private sealed class ReferenceKeyComparer : IEqualityComparer<(Tensor Input, long K, long Stride, long Padding)>
    {
        public bool Equals((Tensor Input, long K, long Stride, long Padding) a, (Tensor Input, long K, long Stride, long Padding) b) =>
            ReferenceEquals(a.Input, b.Input) && a.K == b.K && a.Stride == b.Stride && a.Padding == b.Padding;

        public int GetHashCode((Tensor Input, long K, long Stride, long Padding) key) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Input), key.K, key.Stride, key.Padding);
    }

    private static Tensor Unfold(Tensor input, long k, long stride, long padding) =>
        F.unfold(input.detach(), k, padding: padding, stride: stride).contiguous(); // [N, Cin·k², Ho·Wo]

    private static Tensor? SharedColumns(Tensor input, long k, long stride, long padding)
    {
        if (sharedColumns is null) return null;
        var key = (input, k, stride, padding);
        if (!sharedColumns.TryGetValue(key, out var cols))
        {
            cols = Unfold(input, k, stride, padding).DetachFromDisposeScope();
            sharedColumns[key] = cols;
        }
        return cols;
    }

    // Gradients handed back to libtorch must outlive the callback (it copies them after we return), yet must not
    // wait for the training iteration's dispose scope: they are freed at the next backward or forward on the same
    // thread. Per thread, because libtorch runs a CPU backward on the thread that called it, and another thread's
    // backward (parallel tests, two models) must never free gradients this one has not handed over yet.
    [ThreadStatic]
    private static List<Tensor>? returned;

    private static void ReleaseReturned()
    {
        if (returned is null) return;
        foreach (var t in returned) t.Dispose();
        returned.Clear();
    }

    // One entry per argument of apply, tensor or not (TorchSharp's rule); null where no gradient is due.
    private static List<Tensor> HandBack(Tensor gradOutput, params Tensor?[] gradients)
    {
        var result = gradients.Select(g => g!).ToList();
        returned ??= [];
        foreach (var t in result)
            if (t is not null) returned.Add(t.DetachFromDisposeScope());
        gradOutput.Dispose();
        return result;
    }

    // [N, Cout, positions], holding the bias when there is one (the GEMMs then accumulate onto it). Always a fresh
    // buffer: contiguous() of the expanded bias would return the parameter itself for one sample at one position,
    // and the GEMM would then write into the bias.
    private static Tensor OutputBuffer(Tensor? bias, long n, long cout, long positions)
    {
        var buffer = empty(new[] { n, cout, positions }, dtype: ScalarType.Float32);
        if (bias is not null) buffer.copy_(bias.detach().view(1, -1, 1).expand(n, cout, positions));
        return buffer;
    }

    // dW products, Σ over samples of g_s · x_{s,tap}ᵀ per tap, with the positions split over the threads
    // (OneDnnGemm.WeightGradient says why); the other threads' partial sums live in a scratch tensor.
    private static unsafe void WeightProducts(long samples, long taps, long m, long n, long k, Tensor a, long aSample, long lda,
        Tensor b, long bSample, long ldb, long[] offsets, Tensor c)
    {
        int threads = OneDnnGemm.SplitThreads(k);
        using var partials = empty(new[] { Math.Max(1, (threads - 1) * taps * m * n) }, dtype: ScalarType.Float32);
        fixed (long* po = offsets)
            OneDnnGemm.WeightGradient(samples, taps, m, n, k, Data(a), aSample, lda, Data(b), bSample, ldb, po, Data(c), Data(partials), threads);
        GC.KeepAlive(a);
        GC.KeepAlive(b);
        GC.KeepAlive(c);
    }

    // What both functions' backwards need: the input and weight, and which of input, weight, bias want a gradient.
    private static void Remember(autograd.AutogradContext ctx, Tensor input, Tensor weight, Tensor? bias)
    {
        ReleaseReturned();
        ctx.save_for_backward([input, weight]);
        ctx.save_data("grads", (input.requires_grad, weight.requires_grad, bias?.requires_grad ?? false));
    }

    private static (bool Input, bool Weight, bool Bias) Wanted(autograd.AutogradContext ctx) =>
        ((bool, bool, bool))ctx.get_data("grads");

    private static unsafe float* Data(Tensor t) => TensorMemory.Floats(t);
}
