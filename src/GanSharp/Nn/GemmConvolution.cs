using GanSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Nn;

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
/// (<see cref="SpectralNormConv2d.SingleBackwardGemm"/>, <c>MultiscaleDiscriminator.SingleBackwardGemm</c>).
/// </para>
/// </summary>
public static class GemmConvolution
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
    /// fewer multiplications; the weight gradient stays tap-wise). On by default where AVX-512 runs the transforms.
    /// </summary>
    public static bool WinogradEnabled { get; set; } = OneDnnGemm.WinogradAccelerated
        && Environment.GetEnvironmentVariable(WinogradVariable) != "0";

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
        : OneDnnGemm.WinogradAccelerated ? $"{OneDnnGemm.Status}, Winograd off ({WinogradVariable}=0)"
        : $"{OneDnnGemm.Status}, no Winograd (this processor has no AVX-512)";

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

    private static unsafe float* Data(Tensor t) => (float*)t.storage<float>().data_ptr() + t.storage_offset();

    private sealed unsafe class UnfoldedGemmConv : autograd.SingleTensorFunction<UnfoldedGemmConv>
    {
        public override string Name => "GemmConvolutionUnfolded";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var input = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            long stride = (long)vars[2], padding = (long)vars[3];
            var bias = vars.Length > 4 ? (Tensor)vars[4] : null;
            using var scope = NewDisposeScope();
            long k = weight.shape[2];
            var cols = pendingColumns ?? Unfold(input, k, stride, padding);
            pendingColumns = null;
            Remember(ctx, input, weight, bias);
            // Kept for the weight gradient when no bigger than the output (the label convolutions: 117 rows against
            // 128 channels), instead of unfolding the input again in backward. A view of its own, which backward frees
            // (TorchSharp's save_for_backward hands back no storage for a tensor that is neither input nor output).
            if (weight.requires_grad && is_grad_enabled() && input.shape[1] * k * k <= weight.shape[0])
                ctx.save_data("columns", cols.view(cols.shape).DetachFromDisposeScope());
            ctx.save_data("geometry", (stride, padding));
            return Compute(input, cols, weight, bias, stride, padding).MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            ReleaseReturned();
            var (needInput, needWeight, needBias) = Wanted(ctx);
            var (stride, p) = ((long, long))ctx.get_data("geometry");
            var saved = ctx.get_saved_variables();
            Tensor? dInput = null, dWeight = null, dBias = null;
            using (var scope = NewDisposeScope())
            {
                var input = saved[0].detach();
                var weight = saved[1].detach();
                long n = input.shape[0], cin = input.shape[1], k = weight.shape[2], cout = weight.shape[0];
                long rows = cin * k * k, positions = gradOutput.shape[2] * gradOutput.shape[3];
                var g = gradOutput.contiguous();
                float* pg = Data(g);
                if (needWeight)
                {
                    var kept = ctx.get_data("columns") as Tensor;
                    var cols = kept ?? Unfold(input, k, stride, p);
                    var dw = empty(new[] { cout, rows }, dtype: ScalarType.Float32);
                    WeightProducts(n, 1, cout, rows, positions, g, cout * positions, positions, cols, rows * positions, positions, [0L], dw);
                    if (kept is not null)
                    {
                        kept.Dispose();
                        ctx.save_data("columns", null!);
                    }
                    dWeight = dw.view(weight.shape).MoveToOuterDisposeScope();
                }
                if (needInput)
                {
                    var w = weight.reshape(cout, rows).contiguous();
                    var dcols = empty(new[] { n, rows, positions }, dtype: ScalarType.Float32);
                    float* pw = Data(w), pd = Data(dcols);
                    for (long s = 0; s < n; s++)
                        OneDnnGemm.Gemm(true, false, rows, positions, cout, 1f, pw, rows, pg + s * cout * positions, positions,
                            0f, pd + s * rows * positions, positions);
                    GC.KeepAlive(w);
                    var folded = empty(input.shape, dtype: ScalarType.Float32);
                    OneDnnGemm.Fold(pd, n, cin, k, stride, p, gradOutput.shape[2], gradOutput.shape[3], input.shape[2], input.shape[3], Data(folded));
                    GC.KeepAlive(dcols);
                    dInput = folded.MoveToOuterDisposeScope();
                }
                if (needBias) dBias = g.sum(new long[] { 0, 2, 3 }).MoveToOuterDisposeScope();
                GC.KeepAlive(g);
                foreach (var t in saved) t.Dispose();
            }
            // apply's arguments: input, weight, stride, padding[, bias].
            return HandBack(gradOutput, dInput, dWeight, null, null, dBias);
        }

        private static Tensor Compute(Tensor input, Tensor cols, Tensor weight, Tensor? bias, long stride, long padding)
        {
            using var scope = NewDisposeScope();
            long n = input.shape[0], cin = input.shape[1], k = weight.shape[2], cout = weight.shape[0], rows = cin * k * k;
            long h = (input.shape[2] + 2 * padding - k) / stride + 1, wd = (input.shape[3] + 2 * padding - k) / stride + 1;
            long positions = h * wd;
            var w = weight.detach().reshape(cout, rows).contiguous();
            var y = OutputBuffer(bias, n, cout, positions);
            float* pc = Data(cols), pw = Data(w), py = Data(y);
            for (long s = 0; s < n; s++)
                OneDnnGemm.Gemm(false, false, cout, positions, rows, 1f, pw, rows, pc + s * rows * positions, positions,
                    bias is null ? 0f : 1f, py + s * cout * positions, positions);
            GC.KeepAlive(cols);
            GC.KeepAlive(w);
            return y.view(n, cout, h, wd).MoveToOuterDisposeScope();
        }
    }

    private sealed unsafe class ShiftedGemmConv : autograd.SingleTensorFunction<ShiftedGemmConv>
    {
        public override string Name => "GemmConvolution";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var input = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            long padding = (long)vars[2];
            var bias = vars.Length > 3 ? (Tensor)vars[3] : null;
            Remember(ctx, input, weight, bias);
            ctx.save_data("padding", padding);
            using var scope = NewDisposeScope();
            var geometry = new Geometry(input, weight, padding);
            return geometry.Output(geometry.PadInput(input), weight, bias).MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            ReleaseReturned();
            var (needInput, needWeight, needBias) = Wanted(ctx);
            long padding = (long)ctx.get_data("padding");
            var saved = ctx.get_saved_variables();
            Tensor? dInput = null, dWeight = null, dBias = null;
            using (var scope = NewDisposeScope())
            {
                var input = saved[0];
                var weight = saved[1];
                var g = gradOutput.contiguous();
                var geometry = new Geometry(input, weight, padding);
                // The input gradient is the convolution of the zero-padded output gradient with the kernel flipped and
                // transposed; with "same" padding the padded gradient also serves the weight gradient.
                var gPadded = needInput || geometry.GradientPadServesWeights ? geometry.PadGradient(g) : null;
                if (needInput) dInput = geometry.InputGradient(gPadded!, weight).MoveToOuterDisposeScope();
                if (needWeight) dWeight = geometry.WeightGradient(g, gPadded, input).MoveToOuterDisposeScope();
                if (needBias) dBias = g.sum(new long[] { 0, 2, 3 }).MoveToOuterDisposeScope();
                foreach (var t in saved) t.Dispose();
            }
            // apply's arguments: input, weight, padding[, bias].
            return HandBack(gradOutput, dInput, dWeight, null, dBias);
        }
    }

    /// <summary>
    /// Sizes of one stride-1 layer on one input, and the three products on them. Forward: the input zero-padded by p
    /// into rows of Wp = W+2p; the product's Ho·Wp columns keep Wo = W+2p-k+1 of every row. Input gradient: the output
    /// gradient zero-padded by q = k-1-p into rows of Wg = Wo+2q = W+k-1, of which W are kept. One extra zero row below
    /// each padded buffer lets the last tap's window run past the bottom-right corner without reading outside.
    /// </summary>
    private readonly unsafe struct Geometry
    {
        private readonly long n, cin, cout, h, w, k, p, q, ho, wo, wp, wg, rows, gRows;

        public Geometry(Tensor input, Tensor weight, long padding)
        {
            n = input.shape[0];
            cin = input.shape[1];
            h = input.shape[2];
            w = input.shape[3];
            cout = weight.shape[0];
            k = weight.shape[2];
            p = padding;
            q = k - 1 - p;
            ho = h + 2 * p - k + 1;
            wo = w + 2 * p - k + 1;
            wp = w + 2 * p;
            wg = wo + 2 * q;
            rows = k == 1 ? h : h + 2 * p + 1;
            gRows = k == 1 ? ho : ho + 2 * q + 1;
        }

        private long Positions => ho * wp;
        private long PaddedLength => rows * wp;
        private long GradPositions => h * wg;
        private long GradPaddedLength => gRows * wg;

        private long Offset(long tap, long width) => tap / k * width + tap % k;

        /// <summary>Whether the padded output gradient, read from (q, q) on, is the weight gradient's operand too.</summary>
        public bool GradientPadServesWeights => p == q;

        /// <summary>[N, Cin, rows, Wp] of the input: zero borders, contiguous.</summary>
        public Tensor PadInput(Tensor x) => PadTo(x.detach(), p, rows, wp);

        /// <summary>[N, Cout, gRows, Wg] of the output gradient: zero borders, contiguous.</summary>
        public Tensor PadGradient(Tensor g) => PadTo(g, q, gRows, wg);

        // [N, C, height, width] holding t at (border, border), zeros elsewhere.
        private Tensor PadTo(Tensor t, long border, long height, long width)
        {
            if (border == 0 && height == t.shape[2] && width == t.shape[3]) return t.contiguous();
            // F.pad fills the whole result and then copies the interior; only the borders need the zeros.
            var padded = empty(new[] { n, t.shape[1], height, width }, dtype: ScalarType.Float32);
            padded.narrow(2, border, t.shape[2]).narrow(3, border, t.shape[3]).copy_(t);
            ZeroOutside(padded, border, t.shape[2], border, t.shape[3]);
            return padded;
        }

        /// <summary>[k², Cout, Cin]: one contiguous matrix per kernel tap.</summary>
        public Tensor Taps(Tensor weight) => weight.detach().permute(2, 3, 0, 1).reshape(k * k, cout, cin).contiguous();

        // Zeroes everything of t [N, C, R, Q] outside rows [top, top+height) and columns [left, left+width).
        private static void ZeroOutside(Tensor t, long top, long height, long left, long width)
        {
            long r = t.shape[2], q = t.shape[3];
            if (top > 0) t.narrow(2, 0, top).zero_();
            if (r - top - height > 0) t.narrow(2, top + height, r - top - height).zero_();
            var band = t.narrow(2, top, height);
            if (left > 0) band.narrow(3, 0, left).zero_();
            if (q - left - width > 0) band.narrow(3, left + width, q - left - width).zero_();
        }

        public Tensor Output(Tensor padded, Tensor weight, Tensor? bias)
        {
            var output = empty(new[] { n, cout, ho, wo }, dtype: ScalarType.Float32);
            if (UsesWinograd) Winograd(padded, WinogradKernels(weight), transposed: false, output, bias?.detach().contiguous());
            else Accumulate(padded, Taps(weight), transposed: false, output, bias?.detach().contiguous());
            return output;
        }

        // dX = the convolution of the padded output gradient with tap k²-1-t transposed as tap t: one gathered sum per
        // input position, so no scatter into overlapping windows and no zero-filled buffer.
        public Tensor InputGradient(Tensor gPadded, Tensor weight)
        {
            var dInput = empty(new[] { n, cin, h, w }, dtype: ScalarType.Float32);
            if (UsesWinograd) Winograd(gPadded, WinogradKernels(weight), transposed: true, dInput, null);
            else Accumulate(gPadded, Taps(weight), transposed: true, dInput, null);
            return dInput;
        }

        /// <summary>
        /// Whether the forward and both gradients but the bias's take Winograd F(2x2, 3x3) (<see cref="OneDnnGemm.Winograd3x3"/>):
        /// 3x3 "same" layers on even sizes with enough tiles for its blocks.
        /// </summary>
        public bool UsesWinograd => WinogradEnabled && k == 3 && p == 1 && h % 2 == 0 && w % 2 == 0 && h * w >= MinWinogradPositions;

        // [16, Cout, Cin]: G g Gᵀ of every kernel, one matrix per transform point (row-major 4x4 point order).
        private Tensor WinogradKernels(Tensor weight)
        {
            using var scope = NewDisposeScope();
            var g = WinogradKernelTransform();
            var u = matmul(matmul(g, weight.detach()), g.t());
            return u.permute(2, 3, 0, 1).reshape(16, cout, cin).contiguous().MoveToOuterDisposeScope();
        }

        // The forward, or (transposed) the input gradient: the kernel flipped in both directions has transforms
        // P U Pᵀ, P swapping points 0 and 3 of each axis (G·J = P·G for G's rows), and its channels transposed.
        private void Winograd(Tensor padded, Tensor kernels, bool transposed, Tensor target, Tensor? bias)
        {
            long channelsIn = transposed ? cout : cin, channelsOut = transposed ? cin : cout;
            long planeRows = transposed ? gRows : rows, width = transposed ? wg : wp;
            var offsets = new long[OneDnnGemm.WinogradPoints];
            for (int xi = 0; xi < OneDnnGemm.WinogradPoints; xi++)
            {
                int a = xi / 4, b = xi % 4;
                int source = transposed ? Flip(a) * 4 + Flip(b) : xi;
                offsets[xi] = source * cout * cin;
            }
            using var scratch = empty(new[] { OneDnnGemm.WinogradScratchLength(n, channelsOut, channelsIn, h, w) }, dtype: ScalarType.Float32);
            fixed (long* po = offsets)
                OneDnnGemm.Winograd3x3(n, channelsOut, channelsIn, h, w, Data(padded), channelsIn * planeRows * width,
                    planeRows * width, width, Data(kernels), po, cin, transposed, bias is null ? null : Data(bias),
                    Data(target), Data(scratch));
            GC.KeepAlive(padded);
            GC.KeepAlive(kernels);
            GC.KeepAlive(target);
            GC.KeepAlive(bias);
            GC.KeepAlive(scratch);
        }

        // dW = Gᵀ dU G from the transform-domain gradient dU ([16, Cout, Cin]).
        private Tensor WinogradWeightGradient(Tensor g, Tensor input)
        {
            var padded = PadInput(input);
            var du = empty(new[] { (long)OneDnnGemm.WinogradPoints, cout, cin }, dtype: ScalarType.Float32);
            using (var scratch = empty(new[] { OneDnnGemm.WinogradWeightScratchLength(n, cout, cin, h, w) }, dtype: ScalarType.Float32))
            {
                OneDnnGemm.WinogradWeightGradient(n, cout, cin, h, w, Data(padded), cin * PaddedLength, PaddedLength, wp,
                    Data(g), Data(du), Data(scratch));
                GC.KeepAlive(scratch);
            }
            GC.KeepAlive(padded);
            GC.KeepAlive(g);
            var kernel = WinogradKernelTransform();
            return matmul(matmul(kernel.t(), du.permute(1, 2, 0).reshape(cout, cin, 4, 4)), kernel);
        }

        // G of F(2x2, 3x3): the 3-tap kernel to the 4 transform points.
        private static Tensor WinogradKernelTransform() =>
            tensor(new float[] { 1f, 0f, 0f, 0.5f, 0.5f, 0.5f, 0.5f, -0.5f, 0.5f, 0f, 0f, 1f }).view(4, 3);

        private static int Flip(int point) => point == 0 ? 3 : point == 3 ? 0 : point;

        // target[s] = Σ_tap W_tap · padded[s] window (+ bias), the extra columns of every row left out: the forward
        // with the taps as they are, the input gradient with them flipped and transposed ([Cout, Cin] blocks read as
        // [Cin, Cout]).
        private void Accumulate(Tensor padded, Tensor taps, bool transposed, Tensor target, Tensor? bias)
        {
            long taps2 = k * k;
            long channelsIn = transposed ? cout : cin, channelsOut = transposed ? cin : cout;
            long width = transposed ? wg : wp, positions = transposed ? GradPositions : Positions;
            long length = transposed ? GradPaddedLength : PaddedLength, kept = transposed ? w : wo;
            var aOffsets = new long[taps2];
            var bOffsets = new long[taps2];
            for (long t = 0; t < taps2; t++)
            {
                aOffsets[t] = (transposed ? taps2 - 1 - t : t) * cout * cin;
                bOffsets[t] = Offset(t, width);
            }
            using var scratch = empty(new[] { OneDnnGemm.TapScratchLength(channelsOut, positions) }, dtype: ScalarType.Float32);
            fixed (long* pa = aOffsets, pb = bOffsets)
                OneDnnGemm.TapProducts(n, taps2, transposed, channelsOut, positions, channelsIn, Data(taps), pa, cin,
                    Data(padded), channelsIn * length, pb, length, Data(target), width, kept, bias is null ? null : Data(bias), Data(scratch));
            GC.KeepAlive(padded);
            GC.KeepAlive(taps);
            GC.KeepAlive(target);
            GC.KeepAlive(bias);
            GC.KeepAlive(scratch);
        }

        // dW_t = Σ over samples and output positions of g · (padded input window of tap t)ᵀ, with g laid out in rows of
        // Wp whose Wp-Wo extra columns are zero. With "same" padding that is the padded gradient read from (q, q) on
        // (its right border and the next row's left border are the zeros); otherwise g is padded on the right.
        public Tensor WeightGradient(Tensor g, Tensor? gPadded, Tensor input)
        {
            if (UsesWinograd) return WinogradWeightGradient(g, input);
            long positions = Positions, taps2 = k * k;
            Tensor gExt;
            long gSample, gRow;
            if (gPadded is not null && GradientPadServesWeights)
            {
                gExt = k == 1 ? gPadded : gPadded.view(n, cout, GradPaddedLength).narrow(2, q * wg + q, positions);
                gRow = GradPaddedLength;
            }
            else
            {
                gExt = PadRight(g);
                gRow = positions;
            }
            gSample = cout * gRow;
            var padded = PadInput(input);
            var dTaps = empty(new[] { taps2, cout, cin }, dtype: ScalarType.Float32);
            var offsets = new long[taps2];
            for (long t = 0; t < taps2; t++) offsets[t] = Offset(t, wp);
            WeightProducts(n, taps2, cout, cin, positions, gExt, gSample, gRow, padded, cin * PaddedLength, PaddedLength, offsets, dTaps);
            GC.KeepAlive(gExt);
            GC.KeepAlive(padded);
            return dTaps.view(k, k, cout, cin).permute(2, 3, 0, 1).contiguous();
        }

        // [N, Cout, Ho, Wp]: g with Wp-Wo zero columns on the right of every row.
        private Tensor PadRight(Tensor g)
        {
            if (wp == wo) return g.contiguous();
            var ext = empty(new[] { n, cout, ho, wp }, dtype: ScalarType.Float32);
            ext.narrow(3, 0, wo).copy_(g);
            ext.narrow(3, wo, wp - wo).zero_();
            return ext;
        }
    }
}
