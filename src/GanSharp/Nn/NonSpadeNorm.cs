using static TorchSharp.torch;

namespace GanSharp.Nn;

/// <summary>
/// The reference's <c>get_nonspade_norm_layer</c> for D and E: a norm string such as <c>spectralinstance</c> turns a
/// conv into [spectral-norm] conv, followed by a norm in a Sequential(conv, norm) when one is named. The conv's bias
/// is dropped when a norm follows, because the norm's mean subtraction cancels it.
/// </summary>
internal sealed record NonSpadeNormSpec(bool Spectral, NonSpadeNormKind Norm)
{
    /// <summary>Parses [spectral](instance|batch|sync_batch|none|"").</summary>
    public static NonSpadeNormSpec Parse(string text, string optionName)
    {
        bool spectral = text.StartsWith("spectral", StringComparison.Ordinal);
        string sub = spectral ? text["spectral".Length..] : text;
        var kind = sub switch
        {
            "" or "none" => NonSpadeNormKind.None,
            "instance" => NonSpadeNormKind.Instance,
            "batch" => NonSpadeNormKind.Batch,
            "sync_batch" => NonSpadeNormKind.SyncBatch,
            _ => throw new GanSharpException(ErrorKind.Usage,
                $"{optionName} '{text}' is not recognised; use [spectral](instance|batch|sync_batch|none), e.g. spectralinstance."),
        };
        return new NonSpadeNormSpec(spectral, kind);
    }

    /// <summary>
    /// Builds the conv with this norm: a bare (spectral-normed) conv when no norm is named, else
    /// Sequential(conv without bias, norm), so keys come out as <c>0.weight_orig</c> like the reference's.
    /// </summary>
    public nn.Module<Tensor, Tensor> Conv2d(long cin, long cout, long kernel, long stride, long padding, Device? device = null)
    {
        bool bias = Norm == NonSpadeNormKind.None;
        nn.Module<Tensor, Tensor> conv = Spectral
            ? new SpectralNormConv2d(cin, cout, kernel, stride, padding, bias, device, drawDroppedBias: true)
            : nn.Conv2d(cin, cout, kernel, stride: stride, padding: padding, bias: bias, device: device);
        return Norm switch
        {
            NonSpadeNormKind.None => conv,
            NonSpadeNormKind.Instance => nn.Sequential(conv, nn.InstanceNorm2d(cout, affine: false, device: device)),
            NonSpadeNormKind.Batch => nn.Sequential(conv, nn.BatchNorm2d(cout, affine: true, device: device)),
            // Single-process SyncBN is BatchNorm's arithmetic, but the reference's CPU path calls F.batch_norm
            // directly, so its num_batches_tracked stays 0 (torch's BatchNorm2d would count).
            _ => nn.Sequential(conv, new ParamFreeNorm(ParamFreeNormKind.SyncBatch, cout, device, affine: true)),
        };
    }
}

/// <summary>The norm after a D/E conv.</summary>
internal enum NonSpadeNormKind
{
    None,
    Instance,
    Batch,
    SyncBatch,
}
