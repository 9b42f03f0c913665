using GanSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Nn;

/// <summary>
/// Stride-1 "same" convolutions (odd k×k kernel, padding k/2) computed as k² GEMMs on shifted views of the padded
/// input, with oneDNN's sgemm (<see cref="OneDnnGemm"/>), instead of libtorch's im2col + MKL path.
/// <para>
/// Why: on the AMD machines we run on libtorch's MKL GEMM takes its AVX2 path, and its im2col buffer for a 128-channel
/// 3x3 layer at 256² is 302 MB (two in backward). Flattening the zero-padded input of one sample to a
/// [C, rows·(W+2p)] matrix makes every kernel tap a contiguous column window of it, so output = Σ_tap W_tap · X[:, off_tap:]
/// needs no column buffer at all; the 2p extra columns per row it computes are dropped. Measured on 2 cores: a 128→128
/// 3x3 layer at 256² runs forward + backward in ~0.4x libtorch's time.
/// </para>
/// <para>
/// The backward is hand-written (TorchSharp custom autograd function) and has no double backward, so only layers
/// that never need gradients of gradients may use it: SPADE's generator opts in; discriminators, whose gradient
/// penalties differentiate twice, never do. libtorch has no such convolution, hence this code.
/// </para>
/// </summary>
public static class GemmConvolution
{
    // Below this many input channels a GEMM's inner dimension is too short for the tap-wise split to pay.
    private const long MinInputChannels = 32;

    /// <summary>Whether <see cref="Conv2d"/> would take the GEMM path for this layer and input.</summary>
    public static bool Applies(Tensor input, Tensor weight, long stride, long padding) =>
        OneDnnGemm.Available
        && input.device_type == DeviceType.CPU && input.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
        && input.dim() == 4 && weight.dim() == 4
        && stride == 1 && weight.shape[2] == weight.shape[3] && weight.shape[2] % 2 == 1 && padding == weight.shape[2] / 2
        && weight.shape[1] == input.shape[1] && input.shape[1] >= MinInputChannels
        && input.shape[3] >= weight.shape[2];

    /// <summary>
    /// conv2d(input, weight, bias, stride 1, padding k/2), through the GEMM path when <see cref="Applies"/>,
    /// otherwise libtorch's. Gradients flow to all three as usual (once).
    /// </summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long padding)
    {
        if (!Applies(input, weight, 1, padding))
            return F.conv2d(input, weight, bias, padding: new[] { padding, padding });
        // TorchSharp allocates an output-sized placeholder per call for its own bookkeeping; this scope frees it now.
        using var scope = NewDisposeScope();
        var output = bias is null ? ShiftedGemmConv.apply(input, weight) : ShiftedGemmConv.apply(input, weight, bias);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>The same convolution without autograd, on the GEMM path (for tests that pin the arithmetic).</summary>
    public static Tensor Forward(Tensor input, Tensor weight, Tensor? bias)
    {
        using var _ = no_grad();
        return ShiftedGemmConv.Compute(input, weight, bias);
    }

    private sealed unsafe class ShiftedGemmConv : autograd.SingleTensorFunction<ShiftedGemmConv>
    {
        // Gradients handed back to libtorch must outlive the callback (it copies them after we return), yet must
        // not wait for the training iteration's dispose scope: they are freed at the next backward or forward.
        private static readonly List<Tensor> Returned = [];

        public override string Name => "GemmConvolution";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            ReleaseReturned();
            var input = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            var bias = vars.Length > 2 ? (Tensor)vars[2] : null;
            ctx.save_for_backward([input, weight]);
            ctx.save_data("grads", (input.requires_grad, weight.requires_grad, bias?.requires_grad ?? false));
            return Compute(input, weight, bias);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            ReleaseReturned();
            var (needInput, needWeight, needBias) = ((bool, bool, bool))ctx.get_data("grads");
            var saved = ctx.get_saved_variables();
            Tensor? dInput = null, dWeight = null, dBias = null;
            using (var scope = NewDisposeScope())
            {
                var input = saved[0];
                var weight = saved[1];
                var g = gradOutput.contiguous();
                var geometry = new Geometry(input, weight);
                var gExt = geometry.ExtendColumns(g); // [N, Cout, H, W+2p], the extra columns zero
                var taps = geometry.Taps(weight);
                if (needInput) dInput = geometry.InputGradient(gExt, taps).MoveToOuterDisposeScope();
                if (needWeight) dWeight = geometry.WeightGradient(gExt, input).MoveToOuterDisposeScope();
                if (needBias) dBias = g.sum(new long[] { 0, 2, 3 }).MoveToOuterDisposeScope();
                foreach (var t in saved) t.Dispose();
            }
            var result = new List<Tensor> { dInput!, dWeight!, dBias! };
            lock (Returned)
                foreach (var t in result)
                    if (t is not null) Returned.Add(t.DetachFromDisposeScope());
            gradOutput.Dispose();
            return result;
        }

        private static void ReleaseReturned()
        {
            lock (Returned)
            {
                foreach (var t in Returned) t.Dispose();
                Returned.Clear();
            }
        }

        internal static Tensor Compute(Tensor input, Tensor weight, Tensor? bias)
        {
            using var scope = NewDisposeScope();
            var geometry = new Geometry(input, weight);
            return geometry.Output(geometry.PadInput(input), geometry.Taps(weight), bias).MoveToOuterDisposeScope();
        }
    }

    /// <summary>Sizes of one layer on one input, and the three products on them.</summary>
    private readonly unsafe struct Geometry
    {
        private readonly long n, cin, cout, h, w, k, p, wp, rows;

        public Geometry(Tensor input, Tensor weight)
        {
            n = input.shape[0];
            cin = input.shape[1];
            h = input.shape[2];
            w = input.shape[3];
            cout = weight.shape[0];
            k = weight.shape[2];
            p = k / 2;
            wp = w + 2 * p;
            // One extra zero row lets the last tap's window run past the bottom-right corner without reading outside.
            rows = k == 1 ? h : h + 2 * p + 1;
        }

        private long Positions => h * wp;
        private long PaddedLength => rows * wp;

        private static float* Data(Tensor t) => (float*)t.storage<float>().data_ptr() + t.storage_offset();

        private long Offset(long tap) => tap / k * wp + tap % k;

        /// <summary>[N, Cin, rows, W+2p], zero borders, contiguous.</summary>
        public Tensor PadInput(Tensor input) =>
            k == 1 ? input.contiguous() : F.pad(input, new[] { p, p, p, p + 1 }).contiguous();

        /// <summary>[k², Cout, Cin]: one contiguous matrix per kernel tap.</summary>
        public Tensor Taps(Tensor weight) => weight.detach().permute(2, 3, 0, 1).reshape(k * k, cout, cin).contiguous();

        public Tensor ExtendColumns(Tensor g) => k == 1 ? g : F.pad(g, new[] { 0L, 2 * p }).contiguous();

        public Tensor Output(Tensor padded, Tensor taps, Tensor? bias)
        {
            long positions = Positions, length = PaddedLength, taps2 = k * k;
            var ext = bias is null
                ? empty(new[] { n, cout, positions }, dtype: ScalarType.Float32)
                : bias.detach().view(1, -1, 1).expand(n, cout, positions).contiguous();
            float* x = Data(padded), wt = Data(taps), y = Data(ext);
            for (long s = 0; s < n; s++)
            for (long t = 0; t < taps2; t++)
            {
                float beta = t == 0 && bias is null ? 0f : 1f;
                OneDnnGemm.Gemm(false, false, cout, positions, cin, 1f, wt + t * cout * cin, cin,
                    x + s * cin * length + Offset(t), length, beta, y + s * cout * positions, positions);
            }
            GC.KeepAlive(padded);
            GC.KeepAlive(taps);
            return k == 1 ? ext.view(n, cout, h, w) : ext.view(n, cout, h, wp).narrow(3, 0, w).contiguous();
        }

        public Tensor InputGradient(Tensor gExt, Tensor taps)
        {
            long positions = Positions, length = PaddedLength, taps2 = k * k;
            var dPadded = zeros(new[] { n, cin, rows, wp }, dtype: ScalarType.Float32);
            float* g = Data(gExt), wt = Data(taps), dx = Data(dPadded);
            for (long s = 0; s < n; s++)
            for (long t = 0; t < taps2; t++)
                OneDnnGemm.Gemm(true, false, cin, positions, cout, 1f, wt + t * cout * cin, cin,
                    g + s * cout * positions, positions, 1f, dx + s * cin * length + Offset(t), length);
            GC.KeepAlive(gExt);
            GC.KeepAlive(taps);
            return k == 1 ? dPadded : dPadded.narrow(2, p, h).narrow(3, p, w).contiguous();
        }

        public Tensor WeightGradient(Tensor gExt, Tensor input)
        {
            long positions = Positions, length = PaddedLength, taps2 = k * k;
            var padded = PadInput(input.detach());
            var dTaps = empty(new[] { taps2, cout, cin }, dtype: ScalarType.Float32);
            float* g = Data(gExt), x = Data(padded), dw = Data(dTaps);
            for (long s = 0; s < n; s++)
            for (long t = 0; t < taps2; t++)
                OneDnnGemm.Gemm(false, true, cout, cin, positions, 1f, g + s * cout * positions, positions,
                    x + s * cin * length + Offset(t), length, s == 0 ? 0f : 1f, dw + t * cout * cin, cin);
            GC.KeepAlive(gExt);
            GC.KeepAlive(padded);
            return dTaps.view(k, k, cout, cin).permute(2, 3, 0, 1).contiguous();
        }
    }
}
