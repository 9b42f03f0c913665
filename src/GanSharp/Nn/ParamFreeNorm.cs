using GanSharp.Distributed;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Nn;

/// <summary>The parameter-free normalisations SPADE can use (the part of the norm string after "spade").</summary>
public enum ParamFreeNormKind
{
    /// <summary>InstanceNorm2d(affine=False): per-sample statistics in train and eval, no buffers.</summary>
    Instance,
    /// <summary>BatchNorm2d(affine=False): running statistics, <c>num_batches_tracked</c> counts training forwards.</summary>
    Batch,
    /// <summary>
    /// SynchronizedBatchNorm2d(affine=False) on one device: same arithmetic as <see cref="Batch"/>, but the
    /// reference's CPU path calls F.batch_norm directly, so <c>num_batches_tracked</c> stays 0.
    /// </summary>
    SyncBatch,
}

/// <summary>
/// Batch or instance normalisation without affine parameters, with PyTorch's buffer names
/// (<c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>) for the batch kinds.
/// Running statistics use momentum 0.1 and the unbiased batch variance, as F.batch_norm does.
/// With <c>affine</c> (D's and E's <c>sync_batch</c> norm, which torch's BatchNorm2d cannot stand for because it
/// counts its forwards) it also has the reference's <c>weight</c> and <c>bias</c>.
/// </summary>
internal sealed class ParamFreeNorm : nn.Module<Tensor, Tensor>
{
    private const double Eps = 1e-5;
    private const double Momentum = 0.1;

    private readonly Tensor? running_mean;
    private readonly Tensor? running_var;
    private readonly Tensor? num_batches_tracked;
    private readonly TorchSharp.Modules.Parameter? weight;
    private readonly TorchSharp.Modules.Parameter? bias;

    public ParamFreeNorm(ParamFreeNormKind kind, long numFeatures, Device? device = null, bool affine = false) : base(nameof(ParamFreeNorm))
    {
        Kind = kind;
        if (affine)
        {
            if (kind == ParamFreeNormKind.Instance) throw new ArgumentException("An affine instance norm is not one of the " +
                "reference's norms.", nameof(affine));
            weight = new TorchSharp.Modules.Parameter(ones(numFeatures, device: device));
            bias = new TorchSharp.Modules.Parameter(zeros(numFeatures, device: device));
        }
        if (kind != ParamFreeNormKind.Instance)
        {
            running_mean = zeros(numFeatures, device: device);
            running_var = ones(numFeatures, device: device);
            num_batches_tracked = zeros(Array.Empty<long>(), dtype: ScalarType.Int64, device: device);
        }
        RegisterComponents();
    }

    public ParamFreeNormKind Kind { get; }

    /// <summary>The affine scale, or null without <c>affine</c>.</summary>
    public TorchSharp.Modules.Parameter? Weight => weight;

    /// <summary>The affine shift, or null without <c>affine</c>.</summary>
    public TorchSharp.Modules.Parameter? Bias => bias;

    public override Tensor forward(Tensor input)
    {
        if (Kind == ParamFreeNormKind.Instance)
            return F.instance_norm(input, eps: Eps);
        if (training && Kind == ParamFreeNormKind.Batch)
        {
            using var _ = no_grad();
            num_batches_tracked!.add_(1);
        }
        // Across ranks the statistics are the global batch's; one process keeps F.batch_norm, bit for bit as before.
        if (training && Kind == ParamFreeNormKind.SyncBatch && Communicator.World.IsDistributed)
            return SyncBatchStatistics.Normalize(Communicator.World, input, running_mean, running_var, weight, bias, Momentum, Eps);
        return F.batch_norm(input, running_mean, running_var, weight, bias, training: training, momentum: Momentum, eps: Eps);
    }
}
