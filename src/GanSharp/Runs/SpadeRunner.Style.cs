using GanSharp.Data;
using GanSharp.Models.Spade;
using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Runs;

// The style photo of a test run: preprocessed as a test photo would be, then given to the VAE encoder.
public static partial class SpadeRunner
{
    // [1, 3, H, W] in [-1, 1]; refused when the run has no encoder to take it.
    internal static Tensor ReadStyle(string path, SpadeRunOptions options, RunFolder folder)
    {
        if (!options.Model.UseVae)
            throw new GanSharpException(ErrorKind.Usage,
                $"{folder.Dir} was trained without the VAE encoder (--use-vae), so it takes no style image: drop --style-image.");
        if (!File.Exists(path))
            throw new GanSharpException(ErrorKind.BadInput, $"--style-image {path} does not exist: pass a photo file (.png, .jpg).");
        var photo = ImageIO.ReadRgb(path);
        return StyleTensor(photo, options.Data with { IsTrain = false, NoFlip = true }, path);
    }

    /// <summary>A style photo as the encoder's input, resized and cropped as a test photo of <paramref name="data"/> is.</summary>
    internal static Tensor StyleTensor(RgbImage photo, DataOptions data, string name)
    {
        var plan = Transforms.Plan(data, photo.Width, photo.Height, DeterministicRng.For(data.Seed, stream: 0xA11CE, 1, 0), name);
        var resized = Transforms.ApplyBicubic(photo, plan);
        var chw = new float[3 * plan.OutputWidth * plan.OutputHeight];
        Transforms.ToNormalizedChw(resized, chw);
        return tensor(chw, [1, 3, plan.OutputHeight, plan.OutputWidth]);
    }

    // The encoder's input for a batch: the style photo for every sample, else the batch's own photos when all have
    // one (the reference's test), else none (G draws z).
    private static Tensor? StyleFor(SpadeBatch batch, bool useVae, Tensor? style, SpadeDataset dataset)
    {
        if (!useVae) return null;
        if (style is not null)
        {
            if (style.shape[2] != batch.Image.shape[2] || style.shape[3] != batch.Image.shape[3])
                throw new GanSharpException(ErrorKind.BadInput,
                    $"the style image becomes {style.shape[3]}x{style.shape[2]} after preprocessing but the label maps become "
                    + $"{batch.Image.shape[3]}x{batch.Image.shape[2]}: give a style photo with the label maps' aspect ratio.");
            return style.expand(batch.Image.shape[0], -1, -1, -1);
        }
        return batch.Indices.All(i => dataset.Pairs[i].HasPhoto) ? batch.Image : null;
    }
}
