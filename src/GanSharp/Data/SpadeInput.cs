using static TorchSharp.torch;

namespace GanSharp.Data;

/// <summary>
/// Builds the generator/discriminator input from label and instance tensors, as the reference's
/// Pix2PixModel.preprocess_input and get_edges do. Shared by the loader and the SPADE model code.
/// </summary>
internal static class SpadeInput
{
    /// <summary>
    /// One-hot labels by scatter into label_nc (+1 with don't-care) channels, then the instance edge map as the last
    /// channel when <paramref name="instance"/> is given.
    /// </summary>
    /// <param name="label">[N, 1, H, W] int64 class indices (255 already mapped to label_nc).</param>
    /// <param name="instance">[N, 1, H, W] instance ids (any integer or float dtype), or null.</param>
    /// <param name="labelNc">Number of classes without don't-care.</param>
    /// <param name="containDontcareLabel">Whether index label_nc is a channel of its own.</param>
    /// <returns>[N, semantic_nc, H, W] float32 on the label's device.</returns>
    public static Tensor BuildSemantics(Tensor label, Tensor? instance, int labelNc, bool containDontcareLabel)
    {
        if (label.dim() != 4 || label.shape[1] != 1)
            throw new ArgumentException($"label must be [N, 1, H, W], got [{string.Join(", ", label.shape)}]", nameof(label));
        using var scope = NewDisposeScope();
        long n = label.shape[0], h = label.shape[2], w = label.shape[3];
        int nc = labelNc + (containDontcareLabel ? 1 : 0);
        var index = label.dtype == ScalarType.Int64 ? label : label.to_type(ScalarType.Int64);
        // [N, nc, H, W]
        var oneHot = zeros(new[] { n, nc, h, w }, ScalarType.Float32, label.device)
            .scatter_(1, index, ones(index.shape, ScalarType.Float32, label.device));
        if (instance is null)
            return oneHot.MoveToOuterDisposeScope();
        // [N, nc + 1, H, W]
        return cat(new[] { oneHot, GetEdges(instance) }, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// 1 where a pixel differs from its right or lower neighbour, marking both pixels of every such pair (the
    /// reference's 4-neighbour get_edges); 0 elsewhere.
    /// </summary>
    /// <param name="instance">[N, 1, H, W] instance ids.</param>
    /// <returns>[N, 1, H, W] float32.</returns>
    public static Tensor GetEdges(Tensor instance)
    {
        using var scope = NewDisposeScope();
        long w = instance.shape[3], h = instance.shape[2];
        var edges = zeros(instance.shape, ScalarType.Float32, instance.device);
        if (w > 1)
        {
            // [N, 1, H, W-1]: a pair (x, x+1) that differs.
            var dx = instance[.., .., .., 1..].ne(instance[.., .., .., ..^1]).to_type(ScalarType.Float32);
            edges = edges.maximum(nn.functional.pad(dx, new long[] { 1, 0 })).maximum(nn.functional.pad(dx, new long[] { 0, 1 }));
        }
        if (h > 1)
        {
            // [N, 1, H-1, W]: a pair (y, y+1) that differs.
            var dy = instance[.., .., 1.., ..].ne(instance[.., .., ..^1, ..]).to_type(ScalarType.Float32);
            edges = edges.maximum(nn.functional.pad(dy, new long[] { 0, 0, 1, 0 })).maximum(nn.functional.pad(dy, new long[] { 0, 0, 0, 1 }));
        }
        return edges.MoveToOuterDisposeScope();
    }
}
