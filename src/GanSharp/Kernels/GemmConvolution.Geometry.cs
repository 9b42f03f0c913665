using static TorchSharp.torch;

namespace GanSharp.Kernels;

public static partial class GemmConvolution
{
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
        public static Tensor Taps(Tensor weight) => WeightForms.Get(weight, WeightForms.Form.Taps,
            () => weight.detach().permute(2, 3, 0, 1).reshape(-1, weight.shape[0], weight.shape[1]).contiguous());

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

        public Tensor Output(Tensor input, Tensor weight, Tensor? bias)
        {
            var output = empty(new[] { n, cout, ho, wo }, dtype: ScalarType.Float32);
            // Winograd pads each block of tiles in cache (OneDnnGemm.Winograd3x3); the tap products read padded rows.
            var b = bias?.detach().contiguous();
            if (UsesWinograd4) Winograd4(input.detach().contiguous(), weight, output, b);
            else if (UsesWinograd) Winograd(input.detach().contiguous(), WinogradKernels(weight), transposed: false, output, b);
            else Accumulate(PadInput(input), Taps(weight), transposed: false, output, b);
            return output;
        }

        // dX = the convolution of the padded output gradient with tap k²-1-t transposed as tap t: one gathered sum per
        // input position, so no scatter into overlapping windows and no zero-filled buffer.
        /// <param name="g">The output gradient (contiguous): what Winograd reads.</param>
        /// <param name="gPadded">The same padded (<see cref="PadGradient"/>): what the tap products read; null with Winograd.</param>
        /// <param name="weight">The layer's weight.</param>
        public Tensor InputGradient(Tensor g, Tensor? gPadded, Tensor weight)
        {
            var dInput = empty(new[] { n, cin, h, w }, dtype: ScalarType.Float32);
            if (UsesWinograd) Winograd(g, WinogradKernels(weight), transposed: true, dInput, null);
            else Accumulate(gPadded!, Taps(weight), transposed: true, dInput, null);
            return dInput;
        }

        /// <summary>
        /// Whether the forward and both gradients but the bias's take Winograd F(2x2, 3x3) (<see cref="OneDnnGemm.Winograd3x3"/>):
        /// 3x3 "same" layers on even sizes with enough tiles for its blocks.
        /// </summary>
        public bool UsesWinograd => WinogradEnabled && k == 3 && p == 1 && h % 2 == 0 && w % 2 == 0 && h * w >= MinWinogradPositions;

        /// <summary>Whether this forward takes F(4x4, 3x3): a frozen model's, on sides that are multiples of 4.</summary>
        public bool UsesWinograd4 => UsesWinograd && InferenceWinograd4 && h % 4 == 0 && w % 4 == 0 && OneDnnGemm.Winograd4Available
            && WeightForms.Frozen;

        private void Winograd4(Tensor planes, Tensor weight, Tensor target, Tensor? bias)
        {
            var kernels = WeightForms.Get(weight, WeightForms.Form.Winograd4, () => TransformedKernels4(weight));
            using var scratch = empty(new[] { OneDnnGemm.Winograd4ScratchLength(n, cout, cin, h, w) }, dtype: ScalarType.Float32);
            OneDnnGemm.Winograd4x4(n, cout, cin, h, w, Data(planes), cin * h * w, h * w, w, Data(kernels), bias is null ? null : Data(bias),
                Data(target), Data(scratch));
            GC.KeepAlive(planes);
            GC.KeepAlive(kernels);
            GC.KeepAlive(target);
            GC.KeepAlive(bias);
            GC.KeepAlive(scratch);
        }

        // [36, Cout, Cin]: G g Gᵀ of F(4x4, 3x3) (row-major 6x6 point order), in float64 and rounded once.
        private static Tensor TransformedKernels4(Tensor weight)
        {
            using var scope = NewDisposeScope();
            var g = tensor(new double[]
            {
                1.0 / 4, 0, 0, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
                1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 24, -1.0 / 12, 1.0 / 6, 0, 0, 1,
            }).view(6, 3);
            var u = matmul(matmul(g, weight.detach().to(ScalarType.Float64)), g.t());
            return u.permute(2, 3, 0, 1).reshape(36, weight.shape[0], weight.shape[1]).to(ScalarType.Float32).contiguous()
                .MoveToOuterDisposeScope();
        }

        // [16, Cout, Cin]: G g Gᵀ of every kernel, one matrix per transform point (row-major 4x4 point order).
        private static Tensor WinogradKernels(Tensor weight) =>
            WeightForms.Get(weight, WeightForms.Form.Winograd, () => TransformedKernels(weight));

        private static Tensor TransformedKernels(Tensor weight)
        {
            using var scope = NewDisposeScope();
            var g = WinogradKernelTransform();
            var u = matmul(matmul(g, weight.detach()), g.t());
            return u.permute(2, 3, 0, 1).reshape(16, weight.shape[0], weight.shape[1]).contiguous().MoveToOuterDisposeScope();
        }

        // The forward, or (transposed) the input gradient: the kernel flipped in both directions has transforms
        // P U Pᵀ, P swapping points 0 and 3 of each axis (G·J = P·G for G's rows), and its channels transposed.
        private void Winograd(Tensor planes, Tensor kernels, bool transposed, Tensor target, Tensor? bias)
        {
            long channelsIn = transposed ? cout : cin, channelsOut = transposed ? cin : cout;
            var offsets = new long[OneDnnGemm.WinogradPoints];
            for (int xi = 0; xi < OneDnnGemm.WinogradPoints; xi++)
            {
                int a = xi / 4, b = xi % 4;
                int source = transposed ? Flip(a) * 4 + Flip(b) : xi;
                offsets[xi] = source * cout * cin;
            }
            using var scratch = empty(new[] { OneDnnGemm.WinogradScratchLength(n, channelsOut, channelsIn, h, w) }, dtype: ScalarType.Float32);
            fixed (long* po = offsets)
                OneDnnGemm.Winograd3x3(n, channelsOut, channelsIn, h, w, Data(planes), channelsIn * h * w, h * w, w, Data(kernels), po, cin,
                    transposed, bias is null ? null : Data(bias), Data(target), Data(scratch));
            GC.KeepAlive(planes);
            GC.KeepAlive(kernels);
            GC.KeepAlive(target);
            GC.KeepAlive(bias);
            GC.KeepAlive(scratch);
        }

        // dW = Gᵀ dU G from the transform-domain gradient dU ([16, Cout, Cin]).
        private Tensor WinogradWeightGradient(Tensor g, Tensor input)
        {
            var x = input.detach().contiguous();
            var du = empty(new[] { (long)OneDnnGemm.WinogradPoints, cout, cin }, dtype: ScalarType.Float32);
            using (var scratch = empty(new[] { OneDnnGemm.WinogradWeightScratchLength(n, cout, cin, h, w) }, dtype: ScalarType.Float32))
            {
                OneDnnGemm.WinogradWeightGradient(n, cout, cin, h, w, Data(x), cin * h * w, h * w, w, Data(g), Data(du), Data(scratch));
                GC.KeepAlive(scratch);
            }
            GC.KeepAlive(x);
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
