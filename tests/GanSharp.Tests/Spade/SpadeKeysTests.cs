using System.Text.Json;
using GanSharp.Models.Spade;
using GanSharp.Nn;
using static TorchSharp.torch;

namespace GanSharp.Tests.Spade;

/// <summary>
/// Field names are checkpoint keys: the state_dict of every network at the published configurations must list the
/// reference's keys in the reference's order, with its shapes and dtypes (Fixtures/spade-tiny/keys.json).
/// </summary>
public class SpadeKeysTests
{
    private static readonly JsonDocument Keys = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "spade-tiny",
        "keys.json")));

    /// <summary>The options of keys.json's "resolved" section as our record.</summary>
    internal static SpadeModelOptions OptionsOf(string config)
    {
        var r = Keys.RootElement.GetProperty(config).GetProperty("resolved");
        return new SpadeModelOptions
        {
            LabelNc = r.GetProperty("label_nc").GetInt32(),
            ContainDontcareLabel = r.GetProperty("contain_dontcare_label").GetBoolean(),
            NoInstance = r.GetProperty("no_instance").GetBoolean(),
            CropSize = r.GetProperty("crop_size").GetInt32(),
            AspectRatio = r.GetProperty("aspect_ratio").GetDouble(),
            NumUpsamplingLayers = Enum.Parse<NumUpsamplingLayers>(r.GetProperty("num_upsampling_layers").GetString()!, ignoreCase: true),
            Ngf = r.GetProperty("ngf").GetInt32(),
            Ndf = r.GetProperty("ndf").GetInt32(),
            NormG = r.GetProperty("norm_G").GetString()!,
            NormD = r.GetProperty("norm_D").GetString()!,
            NormE = r.GetProperty("norm_E").GetString()!,
            NumD = r.GetProperty("num_D").GetInt32(),
            NLayersD = r.GetProperty("n_layers_D").GetInt32(),
            UseVae = r.GetProperty("use_vae").GetBoolean(),
            ZDim = r.GetProperty("z_dim").GetInt32(),
        };
    }

    private static void AssertMatches(JsonElement expected, nn.Module module, string what)
    {
        var entries = TorchStateDict.Entries(module);
        var keys = expected.GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(keys.Select(k => k.GetProperty("key").GetString()), entries.Select(e => e.Key));
        for (int i = 0; i < keys.Count; i++)
        {
            var shape = keys[i].GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.True(shape.SequenceEqual(entries[i].Value.shape),
                $"{what} {entries[i].Key}: shape [{string.Join(",", entries[i].Value.shape)}], reference [{string.Join(",", shape)}]");
            string dtype = keys[i].GetProperty("dtype").GetString()!;
            Assert.Equal(dtype == "int64" ? ScalarType.Int64 : ScalarType.Float32, entries[i].Value.dtype);
        }
        long numParams = module.parameters().Sum(p => p.numel());
        Assert.Equal(expected.GetProperty("num_parameters").GetInt64(), numParams);
        Assert.Equal(expected.GetProperty("num_state_dict_elements").GetInt64(), entries.Sum(e => e.Value.numel()));
    }

    [Theory]
    [InlineData("ade20k")]
    [InlineData("cityscapes")]
    [InlineData("coco")]
    [InlineData("coco_vae")]
    public void PublishedConfigurationsHaveTheReferenceKeys(string config)
    {
        var opt = OptionsOf(config);
        var cfg = Keys.RootElement.GetProperty(config);
        Assert.Equal(cfg.GetProperty("resolved").GetProperty("semantic_nc").GetInt32(), opt.SemanticNc);
        // The meta device allocates no storage, so the ~100M-parameter networks cost nothing to build.
        using (var g = new SpadeGenerator(opt, META)) AssertMatches(cfg.GetProperty("netG"), g, "netG");
        using (var d = new MultiscaleDiscriminator(opt, META)) AssertMatches(cfg.GetProperty("netD"), d, "netD");
        if (opt.UseVae)
        {
            using var e = new ConvEncoder(opt, META);
            AssertMatches(cfg.GetProperty("netE"), e, "netE");
        }
    }

    [Fact]
    public void Vgg19HasTorchvisionKeys()
    {
        using var vgg = new Vgg19(includeClassifier: true, device: META);
        AssertMatches(Keys.RootElement.GetProperty("vgg19"), vgg, "vgg19");
    }
}
