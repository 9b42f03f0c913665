using static TorchSharp.torch;

namespace GanSharp.Kernels;

// The two autograd functions: forward and hand-written backward of the unfolded and the shifted paths.
public static partial class GemmConvolution
{
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
            return geometry.Output(input, weight, bias).MoveToOuterDisposeScope();
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
                var gPadded = !geometry.UsesWinograd && (needInput || geometry.GradientPadServesWeights) ? geometry.PadGradient(g) : null;
                if (needInput) dInput = geometry.InputGradient(g, gPadded, weight).MoveToOuterDisposeScope();
                if (needWeight) dWeight = geometry.WeightGradient(g, gPadded, input).MoveToOuterDisposeScope();
                if (needBias) dBias = g.sum(new long[] { 0, 2, 3 }).MoveToOuterDisposeScope();
                foreach (var t in saved) t.Dispose();
            }
            // apply's arguments: input, weight, padding[, bias].
            return HandBack(gradOutput, dInput, dWeight, null, dBias);
        }
    }
}
