using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Evaluation;

/// <summary>
/// Conv (no bias) + BatchNorm (eps 1e-3) + ReLU: the unit every Inception block is built from. Field names
/// <c>conv</c> and <c>bn</c> are the checkpoint keys of pytorch-fid's weight file.
/// </summary>
internal sealed class BasicConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;

    public BasicConv2d(long inCh, long outCh, (long, long) kernel, (long, long)? stride = null, (long, long)? padding = null)
        : base(nameof(BasicConv2d))
    {
        conv = nn.Conv2d(inCh, outCh, kernel, stride: stride ?? (1, 1), padding: padding ?? (0, 0), bias: false);
        bn = nn.BatchNorm2d(outCh, eps: 0.001);
        RegisterComponents();
    }

    public BasicConv2d(long inCh, long outCh, long kernel, long stride = 1, long padding = 0)
        : this(inCh, outCh, (kernel, kernel), (stride, stride), (padding, padding)) { }

    public override Tensor forward(Tensor x)
    {
        using var c = conv.call(x);
        using var b = bn.call(c);
        return F.relu(b);
    }
}

/// <summary>TF's average pool over a 3x3 window ignores the zero padding; PyTorch's default would count it.</summary>
internal static class InceptionPools
{
    public static Tensor AvgPoolNoPad(Tensor x) =>
        F.avg_pool2d(x, kernel_size: 3, stride: 1, padding: 1, count_include_pad: false);
}

/// <summary>FID InceptionA (Mixed_5b/c/d).</summary>
internal sealed class FidInceptionA : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branch_pool;

    public FidInceptionA(long inCh, long poolFeatures) : base(nameof(FidInceptionA))
    {
        branch1x1 = new BasicConv2d(inCh, 64, 1);
        branch5x5_1 = new BasicConv2d(inCh, 48, 1);
        branch5x5_2 = new BasicConv2d(48, 64, 5, padding: 2);
        branch3x3dbl_1 = new BasicConv2d(inCh, 64, 1);
        branch3x3dbl_2 = new BasicConv2d(64, 96, 3, padding: 1);
        branch3x3dbl_3 = new BasicConv2d(96, 96, 3, padding: 1);
        branch_pool = new BasicConv2d(inCh, poolFeatures, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b1 = branch1x1.call(x);
        var b5 = branch5x5_2.call(branch5x5_1.call(x));
        var b3 = branch3x3dbl_3.call(branch3x3dbl_2.call(branch3x3dbl_1.call(x)));
        var bp = branch_pool.call(InceptionPools.AvgPoolNoPad(x));
        return cat([b1, b5, b3, bp], 1).MoveToOuterDisposeScope();
    }
}

/// <summary>InceptionB (Mixed_6a): the stride-2 reduction 35 → 17.</summary>
internal sealed class InceptionB : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3;

    public InceptionB(long inCh) : base(nameof(InceptionB))
    {
        branch3x3 = new BasicConv2d(inCh, 384, 3, stride: 2);
        branch3x3dbl_1 = new BasicConv2d(inCh, 64, 1);
        branch3x3dbl_2 = new BasicConv2d(64, 96, 3, padding: 1);
        branch3x3dbl_3 = new BasicConv2d(96, 96, 3, stride: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b3 = branch3x3.call(x);
        var bd = branch3x3dbl_3.call(branch3x3dbl_2.call(branch3x3dbl_1.call(x)));
        var bp = F.max_pool2d(x, kernel_size: 3, stride: 2);
        return cat([b3, bd, bp], 1).MoveToOuterDisposeScope();
    }
}

/// <summary>FID InceptionC (Mixed_6b..e) with factorised 1x7 / 7x1 convolutions.</summary>
internal sealed class FidInceptionC : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d branch1x1, branch7x7_1, branch7x7_2, branch7x7_3,
        branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5, branch_pool;

    public FidInceptionC(long inCh, long c7) : base(nameof(FidInceptionC))
    {
        branch1x1 = new BasicConv2d(inCh, 192, 1);
        branch7x7_1 = new BasicConv2d(inCh, c7, 1);
        branch7x7_2 = new BasicConv2d(c7, c7, (1, 7), padding: (0, 3));
        branch7x7_3 = new BasicConv2d(c7, 192, (7, 1), padding: (3, 0));
        branch7x7dbl_1 = new BasicConv2d(inCh, c7, 1);
        branch7x7dbl_2 = new BasicConv2d(c7, c7, (7, 1), padding: (3, 0));
        branch7x7dbl_3 = new BasicConv2d(c7, c7, (1, 7), padding: (0, 3));
        branch7x7dbl_4 = new BasicConv2d(c7, c7, (7, 1), padding: (3, 0));
        branch7x7dbl_5 = new BasicConv2d(c7, 192, (1, 7), padding: (0, 3));
        branch_pool = new BasicConv2d(inCh, 192, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b1 = branch1x1.call(x);
        var b7 = branch7x7_3.call(branch7x7_2.call(branch7x7_1.call(x)));
        var bd = branch7x7dbl_1.call(x);
        bd = branch7x7dbl_5.call(branch7x7dbl_4.call(branch7x7dbl_3.call(branch7x7dbl_2.call(bd))));
        var bp = branch_pool.call(InceptionPools.AvgPoolNoPad(x));
        return cat([b1, b7, bd, bp], 1).MoveToOuterDisposeScope();
    }
}

/// <summary>InceptionD (Mixed_7a): the stride-2 reduction 17 → 8.</summary>
internal sealed class InceptionD : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4;

    public InceptionD(long inCh) : base(nameof(InceptionD))
    {
        branch3x3_1 = new BasicConv2d(inCh, 192, 1);
        branch3x3_2 = new BasicConv2d(192, 320, 3, stride: 2);
        branch7x7x3_1 = new BasicConv2d(inCh, 192, 1);
        branch7x7x3_2 = new BasicConv2d(192, 192, (1, 7), padding: (0, 3));
        branch7x7x3_3 = new BasicConv2d(192, 192, (7, 1), padding: (3, 0));
        branch7x7x3_4 = new BasicConv2d(192, 192, 3, stride: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b3 = branch3x3_2.call(branch3x3_1.call(x));
        var b7 = branch7x7x3_4.call(branch7x7x3_3.call(branch7x7x3_2.call(branch7x7x3_1.call(x))));
        var bp = F.max_pool2d(x, kernel_size: 3, stride: 2);
        return cat([b3, b7, bp], 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// FID InceptionE: Mixed_7b pools with an average that ignores padding, Mixed_7c with a 3x3 max pool — a quirk
/// of the TF graph pytorch-fid reproduces, and it changes every FID value, so it is kept.
/// </summary>
internal sealed class FidInceptionE : nn.Module<Tensor, Tensor>
{
    private readonly BasicConv2d branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b,
        branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a, branch3x3dbl_3b, branch_pool;
    private readonly bool maxPool;

    public FidInceptionE(long inCh, bool maxPool) : base(nameof(FidInceptionE))
    {
        this.maxPool = maxPool;
        branch1x1 = new BasicConv2d(inCh, 320, 1);
        branch3x3_1 = new BasicConv2d(inCh, 384, 1);
        branch3x3_2a = new BasicConv2d(384, 384, (1, 3), padding: (0, 1));
        branch3x3_2b = new BasicConv2d(384, 384, (3, 1), padding: (1, 0));
        branch3x3dbl_1 = new BasicConv2d(inCh, 448, 1);
        branch3x3dbl_2 = new BasicConv2d(448, 384, 3, padding: 1);
        branch3x3dbl_3a = new BasicConv2d(384, 384, (1, 3), padding: (0, 1));
        branch3x3dbl_3b = new BasicConv2d(384, 384, (3, 1), padding: (1, 0));
        branch_pool = new BasicConv2d(inCh, 192, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var b1 = branch1x1.call(x);
        var t = branch3x3_1.call(x);
        var b3 = cat([branch3x3_2a.call(t), branch3x3_2b.call(t)], 1);
        var d = branch3x3dbl_2.call(branch3x3dbl_1.call(x));
        var bd = cat([branch3x3dbl_3a.call(d), branch3x3dbl_3b.call(d)], 1);
        var pooled = maxPool ? F.max_pool2d(x, kernel_size: 3, stride: 1, padding: 1) : InceptionPools.AvgPoolNoPad(x);
        var bp = branch_pool.call(pooled);
        return cat([b1, b3, bd, bp], 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The InceptionV3 variant pytorch-fid uses for FID (TF's 2015-12-05 graph): 2048-d pool3 features and the
/// 1008-class logits of its <c>fc</c> layer (for the Inception Score). Submodule names equal the keys of
/// <c>pt_inception-2015-12-05-6726825d.pth</c>. Input: [N, 3, 299, 299] already scaled to [-1, 1].
/// </summary>
public sealed class FidInceptionV3 : nn.Module<Tensor, Tensor>
{
    /// <summary>Side of the square input the network was trained on.</summary>
    public const int InputSize = 299;

    /// <summary>Length of the pool3 feature vector.</summary>
    public const int FeatureDim = 2048;

    /// <summary>Number of logits of the TF graph's classifier (1000 ImageNet classes plus 8 unused).</summary>
    public const int NumClasses = 1008;

    private readonly BasicConv2d Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, Conv2d_3b_1x1, Conv2d_4a_3x3;
    private readonly FidInceptionA Mixed_5b, Mixed_5c, Mixed_5d;
    private readonly InceptionB Mixed_6a;
    private readonly FidInceptionC Mixed_6b, Mixed_6c, Mixed_6d, Mixed_6e;
    private readonly InceptionD Mixed_7a;
    private readonly FidInceptionE Mixed_7b, Mixed_7c;
    private readonly Linear fc;

    /// <summary>Builds the network with untrained parameters; load weights before use.</summary>
    public FidInceptionV3() : base(nameof(FidInceptionV3))
    {
        Conv2d_1a_3x3 = new BasicConv2d(3, 32, 3, stride: 2);
        Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
        Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, padding: 1);
        Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
        Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
        Mixed_5b = new FidInceptionA(192, 32);
        Mixed_5c = new FidInceptionA(256, 64);
        Mixed_5d = new FidInceptionA(288, 64);
        Mixed_6a = new InceptionB(288);
        Mixed_6b = new FidInceptionC(768, 128);
        Mixed_6c = new FidInceptionC(768, 160);
        Mixed_6d = new FidInceptionC(768, 160);
        Mixed_6e = new FidInceptionC(768, 192);
        Mixed_7a = new InceptionD(768);
        Mixed_7b = new FidInceptionE(1280, maxPool: false);
        Mixed_7c = new FidInceptionE(2048, maxPool: true);
        fc = nn.Linear(FeatureDim, NumClasses);
        RegisterComponents();
        eval();
    }

    /// <summary>pool3 features [N, 2048] of an input [N, 3, 299, 299] in [-1, 1].</summary>
    public override Tensor forward(Tensor x)
    {
        if (x.ndim != 4 || x.shape[1] != 3)
            throw new ArgumentException($"FidInceptionV3 expects [N, 3, H, W], got [{string.Join(", ", x.shape)}]", nameof(x));
        using var scope = NewDisposeScope();
        var h = Conv2d_2b_3x3.call(Conv2d_2a_3x3.call(Conv2d_1a_3x3.call(x)));
        h = F.max_pool2d(h, kernel_size: 3, stride: 2);                 // [N, 64, 73, 73]
        h = Conv2d_4a_3x3.call(Conv2d_3b_1x1.call(h));
        h = F.max_pool2d(h, kernel_size: 3, stride: 2);                 // [N, 192, 35, 35]
        h = Mixed_5d.call(Mixed_5c.call(Mixed_5b.call(h)));             // [N, 288, 35, 35]
        h = Mixed_6a.call(h);                                           // [N, 768, 17, 17]
        h = Mixed_6e.call(Mixed_6d.call(Mixed_6c.call(Mixed_6b.call(h))));
        h = Mixed_7a.call(h);                                           // [N, 1280, 8, 8]
        h = Mixed_7c.call(Mixed_7b.call(h));                            // [N, 2048, 8, 8]
        return h.mean([2, 3]).MoveToOuterDisposeScope();                // [N, 2048]
    }

    /// <summary>
    /// The 1008 logits of pool3 features. Without the bias by default: torch-fidelity's Inception Score (the
    /// reference IS implementation for PyTorch) reads these "unbiased" logits, and the bias shifts the score.
    /// </summary>
    public Tensor Logits(Tensor pool3, bool withBias = false) =>
        withBias ? fc.call(pool3) : F.linear(pool3, fc.weight!);
}
