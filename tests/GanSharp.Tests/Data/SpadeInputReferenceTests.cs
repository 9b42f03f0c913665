using GanSharp.Data;
using GanSharp.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Tests.Data;

public class SpadeInputReferenceTests
{
    [Fact]
    public void SemanticsAndEdgesEqualTheReferencePreprocessing()
    {
        // A_batch.pth: the NVlabs code's preprocess_input (one-hot of label_nc 5 + don't-care, instance edges) on
        // labels that held 255 before the reference's mapping.
        var batch = (Dictionary<object, object?>)PthReader.Read(Fixtures.SpadeTiny("A_batch.pth"))!;
        var raw = (Tensor)batch["label_raw"]!;
        var mapped = (Tensor)batch["label"]!;
        var instance = (Tensor)batch["instance"]!;
        var expected = (Tensor)batch["input_semantics"]!;
        var edges = (Tensor)batch["edges"]!;

        // The don't-care mapping our loader applies: 255 → label_nc.
        var ours = raw.clone().masked_fill_(raw.eq(255), 5);
        Assert.True(ours.eq(mapped).all().item<bool>());
        Assert.True(SpadeInput.GetEdges(instance).eq(edges).all().item<bool>());
        var sem = SpadeInput.BuildSemantics(mapped, instance, labelNc: 5, containDontcareLabel: true);
        Assert.Equal(expected.shape, sem.shape);
        Assert.True(sem.eq(expected).all().item<bool>());
        // Sanity of the fixture itself: every pixel has exactly one class channel on.
        Assert.Equal(2 * 64 * 64, sem.narrow(1, 0, 6).sum().item<float>());
    }
}
