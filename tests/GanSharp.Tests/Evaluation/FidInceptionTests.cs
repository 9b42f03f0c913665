using GanSharp.Data;
using GanSharp.Evaluation;
using static TorchSharp.torch;

namespace GanSharp.Tests.Evaluation;

public class FidInceptionTests
{
    [Fact]
    public void StateDictKeysEqualPytorchFidCheckpointKeys()
    {
        using var net = new FidInceptionV3();
        var expected = EvalFixtures.Expected.GetProperty("inception_keys").EnumerateArray().Select(e => e.GetString()!)
            .OrderBy(k => k, StringComparer.Ordinal);
        Assert.Equal(expected, net.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal));
    }

    [Fact]
    public void DeterministicFormulaEqualsThePythonOne()
    {
        foreach (var p in EvalFixtures.Expected.GetProperty("param_probe").EnumerateObject())
        {
            long[] shape = p.Name switch
            {
                "Conv2d_1a_3x3.conv.weight" => [32, 3, 3, 3],
                _ => [192],
            };
            if (p.Name == "fc.bias") shape = [1008];
            var ours = DeterministicWeights.Values(p.Name, shape);
            var theirs = p.Value.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            Assert.Equal(theirs, ours[..theirs.Length]);
        }
    }

    [Fact]
    public void Pool3FeaturesAndLogitsEqualThePyTorchArchitecture()
    {
        using var net = new FidInceptionV3();
        DeterministicWeights.Fill(net);
        using var extractor = new InceptionFeatureExtractor(net);
        var images = EvalFixtures.Expected.GetProperty("inception_images").EnumerateArray()
            .Select(e => ImageIO.ReadRgb(EvalFixtures.PathOf(e.GetString()!))).ToList();
        var outputs = extractor.Extract(images, batchSize: 2);
        var pool = EvalFixtures.ReadF32("inception_pool3.f32");
        var logits = EvalFixtures.ReadF32("inception_logits.f32");
        Assert.Equal(pool.Length, outputs.Pool3.Data.Length);
        Assert.Equal(logits.Length, outputs.Logits.Data.Length);
        double poolDiff = pool.Select((v, i) => Math.Abs(v - outputs.Pool3.Data[i])).Max();
        double logitDiff = logits.Select((v, i) => Math.Abs(v - outputs.Logits.Data[i])).Max();
        Assert.True(poolDiff < 1e-4, $"pool3 max |diff| {poolDiff:G3}");
        Assert.True(logitDiff < 1e-4, $"logits max |diff| {logitDiff:G3}");
        // the features must not be trivially small, or the tolerance would prove nothing
        Assert.True(pool.Average(v => Math.Abs(v)) > 0.03);
    }

    [Fact]
    public void GeneratorTensorIsQuantisedLikeItsSavedImage()
    {
        using var net = new FidInceptionV3();
        DeterministicWeights.Fill(net);
        using var extractor = new InceptionFeatureExtractor(net);
        var img = ImageIO.ReadRgb(EvalFixtures.PathOf("coffee.png"));
        // a generator output whose quantisation (x·127.5 + 128, truncated) gives back exactly these bytes
        using var hwc = tensor(img.Pixels, [img.Height, img.Width, 3], ScalarType.Byte);
        using var x = (hwc.permute(2, 0, 1).unsqueeze(0).to_type(ScalarType.Float32) - 127.5f + 0.25f) / 127.5f;
        using var q = (x * 127.5 + 128).clamp(0, 255).to_type(ScalarType.Byte);
        Assert.Equal(img.Pixels, q.permute(0, 2, 3, 1).contiguous().data<byte>().ToArray());
        var fromTensor = extractor.Extract(x);
        var fromImage = extractor.Extract([img]);
        Assert.Equal(fromImage.Pool3.Data, fromTensor.Pool3.Data);
    }

    [Theory]
    [InlineData(ResizeMode.PyTorchBilinear, "resize_torch_bilinear.f32", 1e-6)]
    [InlineData(ResizeMode.Tf1LegacyBilinear, "resize_tf1_legacy.f32", 1e-6)]
    public void ResizeTo299EqualsReference(ResizeMode mode, string file, double tol)
    {
        var img = ImageIO.ReadRgb(EvalFixtures.PathOf("resize_input.png"));
        using var hwc = tensor(img.Pixels, [img.Height, img.Width, 3], ScalarType.Byte);
        using var x = hwc.permute(2, 0, 1).unsqueeze(0).to_type(ScalarType.Float32) / 255.0;
        using var y = InceptionFeatureExtractor.ResizeTo299(x, mode).contiguous();
        var ours = y.data<float>().ToArray();
        var theirs = EvalFixtures.ReadF32(file);
        Assert.Equal(theirs.Length, ours.Length);
        double diff = theirs.Select((v, i) => Math.Abs(v - ours[i])).Max();
        Assert.True(diff < tol, $"{mode}: max |diff| {diff:G3}");
    }
}

public sealed class InceptionWeightsTests : IDisposable
{
    private readonly string path = Path.Combine(Path.GetTempPath(), $"gansharp-incep-{Guid.NewGuid():N}.pth");

    public void Dispose() => File.Delete(path);

    [Fact]
    public void PretrainedLoadingGoesThroughThePthReaderAndReproducesTheFeatures()
    {
        // a .pth with pytorch-fid's key layout (written by our writer, without num_batches_tracked as in the
        // original 2018 file), loaded through the same path as the real weights
        using var source = new FidInceptionV3();
        DeterministicWeights.Fill(source);
        using (var sd = new GanSharp.Interop.StateDict())
        {
            foreach (var (k, v) in source.state_dict())
                if (!k.EndsWith("num_batches_tracked", StringComparison.Ordinal)) sd.Add(k, v.detach().clone());
            GanSharp.Interop.PthWriter.WriteStateDict(path, sd);
        }
        using var loaded = InceptionWeights.LoadPretrained(path);
        var a = loaded.state_dict();
        foreach (var (k, v) in source.state_dict())
            if (!k.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                Assert.True(v.eq(a[k]).all().item<bool>(), k);
    }

    [Fact]
    public void MissingWeightsFileSaysWhereToDownloadIt()
    {
        var e = Assert.Throws<GanSharpException>(() => InceptionWeights.LoadPretrained(path));
        Assert.Equal(ErrorKind.BadInput, e.Kind);
        Assert.Contains("releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth", e.Message);
    }
}
