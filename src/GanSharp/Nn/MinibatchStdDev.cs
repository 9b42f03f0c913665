using static TorchSharp.torch;

namespace GanSharp.Nn;

/// <summary>
/// Minibatch standard deviation (ProGAN; ganhacks §15's minibatch discrimination in its simple form): appends one
/// feature, the std over groups of samples averaged over features, so D can see a batch without variety.
/// Works on feature vectors [N, F] → [N, F+1] and feature maps [N, C, H, W] → [N, C+1, H, W].
/// </summary>
internal sealed class MinibatchStdDev : nn.Module<Tensor, Tensor>
{
    private readonly int _groupSize;

    public MinibatchStdDev(int groupSize = 4) : base(nameof(MinibatchStdDev))
    {
        _groupSize = groupSize;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0];
        long g = Math.Min(_groupSize, n);
        // Groups must divide the batch; fall back to the whole batch when they do not.
        if (n % g != 0) g = n;
        var rest = x.shape.Skip(1).ToArray();
        var grouped = x.reshape([g, n / g, .. rest]);                       // [G, N/G, ...]
        var std = (grouped.var(0, unbiased: false) + 1e-8).sqrt();            // [N/G, ...]
        var stat = std.reshape(n / g, -1).mean([1]);                          // [N/G]
        var perSample = stat.repeat(g);                                       // [N], sample i in group i % (N/G)
        Tensor extra = x.dim() == 4
            ? perSample.view(n, 1, 1, 1).expand(n, 1, x.shape[2], x.shape[3])
            : perSample.view(n, 1);
        return cat([x, extra], 1).MoveToOuterDisposeScope();
    }
}
