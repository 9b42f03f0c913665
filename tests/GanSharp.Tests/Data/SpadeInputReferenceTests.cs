using GanSharp.Data;
using GanSharp.Interop;
using static TorchSharp.torch;

namespace GanSharp.Tests.Data;

public class SpadeInputReferenceTests
{
    public static IEnumerable<object[]> Sets() => GanSharp.Tests.Spade.SpadeFixtureSet.All();

    [Theory, MemberData(nameof(Sets))]
    public void SemanticsAndEdgesEqualTheReferencePreprocessing(string set)
    {
        // A_batch.pth: the NVlabs code's preprocess_input (one-hot of label_nc [+ don't-care], instance edges) on
        // labels that held 255 before the reference's mapping.
        var fx = GanSharp.Tests.Spade.SpadeFixtureSet.Open(set);
        var options = fx.Options('A').Model;
        var batch = (Dictionary<object, object?>)PthReader.Read(fx.File("A_batch.pth"))!;
        var raw = (Tensor)batch["label_raw"]!;
        var mapped = (Tensor)batch["label"]!;
        var instance = (Tensor)batch["instance"]!;
        var expected = (Tensor)batch["input_semantics"]!;

        // The don't-care mapping our loader applies: 255 → label_nc.
        var ours = raw.clone().masked_fill_(raw.eq(255), options.LabelNc);
        Assert.True(ours.eq(mapped).all().item<bool>());
        if (!options.NoInstance)
            Assert.True(SpadeInput.GetEdges(instance).eq((Tensor)batch["edges"]!).all().item<bool>());
        var sem = SpadeInput.BuildSemantics(mapped, options.NoInstance ? null : instance, options.LabelNc, options.ContainDontcareLabel);
        Assert.Equal(expected.shape, sem.shape);
        Assert.Equal(options.SemanticNc, sem.shape[1]);
        Assert.True(sem.eq(expected).all().item<bool>());
        // Sanity of the fixture itself: every pixel has exactly one class channel on.
        int classes = options.LabelNc + (options.ContainDontcareLabel ? 1 : 0);
        Assert.Equal(mapped.numel(), (long)sem.narrow(1, 0, classes).sum().item<float>());
    }
}
