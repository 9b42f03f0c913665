using GanSharp.Options;
using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>The differentiable augmentations of DiffAugment (Zhao et al. 2020).</summary>
[Flags]
internal enum AugmentPolicy
{
    None = 0,
    /// <summary>Brightness, saturation and contrast jitter.</summary>
    Color = 1,
    /// <summary>Shift by up to 1/8 of the image with zero fill.</summary>
    Translation = 2,
    /// <summary>Zero a square of half the image side at a random place.</summary>
    Cutout = 4,
}

/// <summary>
/// Differentiable augmentation of D's real and fake inputs, applied in both D and G steps so G gets gradients
/// through it. Each operation is applied to each image with probability p (1 for plain DiffAugment, steered by
/// <see cref="AdaptiveAugment"/> for ADA).
/// </summary>
internal static class DiffAugment
{
    /// <summary>Parses "color,translation,cutout" (any subset; empty = none).</summary>
    public static AugmentPolicy ParsePolicy(string policy)
    {
        var result = AugmentPolicy.None;
        foreach (var part in policy.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            result |= part.ToLowerInvariant() switch
            {
                "color" or "colour" => AugmentPolicy.Color,
                "translation" => AugmentPolicy.Translation,
                "cutout" => AugmentPolicy.Cutout,
                _ => throw new GanSharpException(ErrorKind.Usage, $"{TricksOptionSpecs.DiffAugment.Flag} names '{part}': use a "
                    + "comma-separated subset of color, " +
                    "translation, cutout."),
            };
        }
        return result;
    }

    /// <summary>Augments images [N, C, H, W]; each operation hits each image with probability <paramref name="p"/>.</summary>
    public static Tensor Apply(Tensor x, AugmentPolicy policy, double p = 1.0, Generator? gen = null)
    {
        if (policy == AugmentPolicy.None || p <= 0) return x;
        if (x.dim() != 4) throw new GanSharpException(ErrorKind.Usage, $"{TricksOptionSpecs.DiffAugment.Flag} works on images only; drop "
            + "it for 2-D point data.");
        using var scope = NewDisposeScope();
        long n = x.shape[0];
        Tensor Gate(Tensor augmented, Tensor input)
        {
            if (p >= 1) return augmented;
            var hit = rand([n, 1, 1, 1], generator: gen).lt(p);
            return where(hit, augmented, input);
        }
        var y = x;
        if (policy.HasFlag(AugmentPolicy.Color))
        {
            var b = y + (rand([n, 1, 1, 1], generator: gen) - 0.5);
            var mean = b.mean([1], keepdim: true);
            var s = (b - mean) * (rand([n, 1, 1, 1], generator: gen) * 2) + mean;
            var meanAll = s.mean([1, 2, 3], keepdim: true);
            var c = (s - meanAll) * (rand([n, 1, 1, 1], generator: gen) + 0.5) + meanAll;
            y = Gate(c, y);
        }
        if (policy.HasFlag(AugmentPolicy.Translation)) y = Gate(Translate(y, 0.125, gen), y);
        if (policy.HasFlag(AugmentPolicy.Cutout)) y = Gate(Cutout(y, 0.5, gen), y);
        return y.MoveToOuterDisposeScope();
    }

    private static Tensor Translate(Tensor x, double ratio, Generator? gen)
    {
        long n = x.shape[0], h = x.shape[2], w = x.shape[3];
        long sh = (long)(h * ratio + 0.5), sw = (long)(w * ratio + 0.5);
        var tx = randint(-sh, sh + 1, [n, 1, 1], generator: gen);
        var ty = randint(-sw, sw + 1, [n, 1, 1], generator: gen);
        // Gather from a zero-padded copy: output (i, j) reads input (i − ty, j − tx), zero when outside.
        var gy = (arange(h).view(1, h, 1) - ty + 1).clamp(0, h + 1);
        var gx = (arange(w).view(1, 1, w) - tx + 1).clamp(0, w + 1);
        var padded = nn.functional.pad(x, [1, 1, 1, 1]);
        long c = x.shape[1];
        var flat = padded.permute(0, 2, 3, 1).reshape(n, (h + 2) * (w + 2), c);     // [N, (H+2)(W+2), C]
        var idx = (gy * (w + 2) + gx).reshape(n, h * w, 1).expand(n, h * w, c);
        return flat.gather(1, idx).reshape(n, h, w, c).permute(0, 3, 1, 2);       // [N, C, H, W]
    }

    private static Tensor Cutout(Tensor x, double ratio, Generator? gen)
    {
        long n = x.shape[0], h = x.shape[2], w = x.shape[3];
        long ch = (long)(h * ratio + 0.5), cw = (long)(w * ratio + 0.5);
        var oy = randint(0, h + (1 - ch % 2), [n, 1, 1], generator: gen);
        var ox = randint(0, w + (1 - cw % 2), [n, 1, 1], generator: gen);
        var ys = arange(h).view(1, h, 1) - oy + ch / 2;
        var xs = arange(w).view(1, 1, w) - ox + cw / 2;
        var inside = ys.ge(0).logical_and(ys.lt(ch)).logical_and(xs.ge(0)).logical_and(xs.lt(cw));
        return x * inside.logical_not().unsqueeze(1).to_type(x.dtype);
    }
}
