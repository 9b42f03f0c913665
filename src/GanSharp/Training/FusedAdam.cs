using GanSharp.Kernels;
using GanSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Training;

/// <summary>
/// TorchSharp's Adam with its update done in one pass per parameter (<see cref="AdamKernel"/>). The state (step,
/// exp_avg, exp_avg_sq) is TorchSharp's own, so checkpoints, resume and the learning-rate schedules are unchanged.
/// A parameter that is not a contiguous float32 CPU tensor takes TorchSharp's update. (AMSGrad and maximize, which
/// GanSharp never asks for, are not offered.)
/// </summary>
public sealed unsafe class FusedAdam : Adam
{
    public FusedAdam(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps = 1e-8, double weightDecay = 0)
        : base(parameters, lr, beta1, beta2, eps, weightDecay)
    {
    }

    public override Tensor step(Func<Tensor>? closure = null)
    {
        Tensor? loss = null;
        if (closure is not null)
        {
            using var _ = enable_grad();
            loss = closure();
        }
        var fused = new List<AdamKernel.Item>();
        bool other = false;
        foreach (var group in _parameter_groups)
        {
            var o = (Options)group.Options;
            foreach (var param in group.Parameters)
            {
                var grad = param.grad;
                if (grad is null) continue;
                var state = (State)_state[param.Handle];
                if (!Fusable(param, grad, state)) { other = true; continue; }
                var (beta1, beta2, bc1, bc2) = Advance(o, state);
                fused.Add(new AdamKernel.Item
                {
                    P = TensorMemory.Floats(param), G = TensorMemory.Floats(grad),
                    M = TensorMemory.Floats(state.exp_avg), V = TensorMemory.Floats(state.exp_avg_sq), N = param.numel(),
                    Beta1 = (float)beta1, OneMinusBeta1 = (float)(1 - beta1), Beta2 = (float)beta2, OneMinusBeta2 = (float)(1 - beta2),
                    WeightDecay = (float)o.weight_decay!.Value, SqrtBiasCorrection2 = (float)Math.Sqrt(bc2), Eps = (float)o.eps!.Value,
                    NegStepSize = (float)(-o.LearningRate!.Value / bc1),
                });
            }
        }
        AdamKernel.Step(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(fused));
        if (other) OtherStep();
        return loss!;
    }

    // Counts the step and returns the betas and TorchSharp's bias corrections for it.
    private static (double Beta1, double Beta2, double Correction1, double Correction2) Advance(Options o, State state)
    {
        state.step += 1;
        double beta1 = o.beta1!.Value, beta2 = o.beta2!.Value;
        return (beta1, beta2, 1 - Math.Pow(beta1, state.step), 1 - Math.Pow(beta2, state.step));
    }

    private static bool Fusable(Tensor param, Tensor grad, State state) =>
        param.dtype == ScalarType.Float32 && grad.dtype == ScalarType.Float32 && param.device_type == DeviceType.CPU
        && grad.device_type == DeviceType.CPU && param.is_contiguous() && grad.is_contiguous()
        && state.exp_avg.is_contiguous() && state.exp_avg_sq.is_contiguous() && grad.numel() == param.numel();

    // TorchSharp's update, for the parameters the kernel does not take.
    private void OtherStep()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        foreach (var group in _parameter_groups)
        {
            var o = (Options)group.Options;
            foreach (var param in group.Parameters)
            {
                var grad = param.grad;
                if (grad is null) continue;
                var state = (State)_state[param.Handle];
                if (Fusable(param, grad, state)) continue;
                var (beta1, beta2, bc1, bc2) = Advance(o, state);
                if (o.weight_decay!.Value != 0) grad = grad.add(param, alpha: o.weight_decay.Value);
                state.exp_avg.mul_(beta1).add_(grad, alpha: 1 - beta1);
                state.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value: 1 - beta2);
                var denom = (state.exp_avg_sq.sqrt() / Math.Sqrt(bc2)).add_(o.eps!.Value);
                param.addcdiv_(state.exp_avg, denom, value: -o.LearningRate!.Value / bc1);
            }
        }
    }
}
