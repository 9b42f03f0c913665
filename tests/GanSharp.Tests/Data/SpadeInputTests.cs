using GanSharp.Data;
using static TorchSharp.torch;

namespace GanSharp.Tests.Data;

public class SpadeInputTests
{
    [Fact]
    public void EdgesMarkBothPixelsOfEveryDifferingFourNeighbourPair()
    {
        using var inst = tensor(new long[]
        {
            1, 1, 2, 2,
            1, 1, 2, 2,
            3, 3, 3, 2,
        }, new long[] { 1, 1, 3, 4 });
        using var edges = SpadeInput.GetEdges(inst);
        Assert.Equal(new long[] { 1, 1, 3, 4 }, edges.shape);
        Assert.Equal(ScalarType.Float32, edges.dtype);
        // Worked by hand: horizontal pairs (1|2) in rows 0-1 mark columns 1 and 2, (3|2) in row 2 marks 2 and 3;
        // vertical pairs (1/3) and (2/3) mark rows 1 and 2 of columns 0..2; column 3 is 2,2,2.
        float[] expected =
        [
            0, 1, 1, 0,
            1, 1, 1, 0,
            1, 1, 1, 1,
        ];
        Assert.Equal(expected, edges.data<float>().ToArray());
    }

    [Fact]
    public void EdgesOfAUniformMapAreZeroAndBatchesStaySeparate()
    {
        // Two samples stacked: no edge may appear between the last row of one and the first row of the next.
        using var inst = tensor(new long[] { 5, 5, 5, 5, 6, 6, 6, 6 }, new long[] { 2, 1, 2, 2 });
        using var edges = SpadeInput.GetEdges(inst);
        Assert.All(edges.data<float>().ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void OneHotScattersClassesAndDontcareAndAppendsEdges()
    {
        const int labelNc = 13;
        // 255 was mapped to label_nc (13) by the data set.
        using var label = tensor(new long[] { 0, 2, 13, 1 }, new long[] { 1, 1, 2, 2 });
        using var inst = tensor(new long[] { 4, 4, 4, 9 }, new long[] { 1, 1, 2, 2 });
        using var sem = SpadeInput.BuildSemantics(label, inst, labelNc, containDontcareLabel: true);
        Assert.Equal(new long[] { 1, labelNc + 1 + 1, 2, 2 }, sem.shape);
        var v = sem.data<float>().ToArray();
        float At(int c, int y, int x) => v[c * 4 + y * 2 + x];
        Assert.Equal(1f, At(0, 0, 0));
        Assert.Equal(1f, At(2, 0, 1));
        Assert.Equal(1f, At(13, 1, 0));
        Assert.Equal(1f, At(1, 1, 1));
        // Exactly one class channel is hot per pixel.
        for (int p = 0; p < 4; p++)
            Assert.Equal(1f, Enumerable.Range(0, 14).Sum(c => v[c * 4 + p]));
        // Edge channel: only pixel (1,1) differs, from (0,1) above and (1,0) to the left.
        Assert.Equal(new float[] { 0, 1, 1, 1 }, v.AsSpan(14 * 4, 4).ToArray());
    }

    [Fact]
    public void WithoutDontcareOrInstanceThereAreLabelNcChannels()
    {
        using var label = tensor(new long[] { 0, 1, 2, 2 }, new long[] { 1, 1, 1, 4 });
        using var sem = SpadeInput.BuildSemantics(label, null, 3, containDontcareLabel: false);
        Assert.Equal(new long[] { 1, 3, 1, 4 }, sem.shape);
        Assert.Equal(new float[] { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1 }, sem.data<float>().ToArray());
    }

    [Fact]
    public void ArrayPathAndTensorPathGiveIdenticalSemantics()
    {
        int w = 37, h = 23, nc = 6;
        var rng = new DeterministicRng(12);
        var label = new int[w * h];
        var inst = new int[w * h];
        for (int i = 0; i < label.Length; i++)
        {
            // Runs of equal values, so the edge map has both edges and flat areas.
            label[i] = i % 5 == 0 ? rng.NextInclusive(0, nc - 1) : label[Math.Max(0, i - 1)];
            inst[i] = i % 7 == 0 ? rng.NextInclusive(0, 3) : inst[Math.Max(0, i - 1)];
        }
        var fromArrays = SemanticMaps.Build(label, inst, w, h, nc);
        using var lt = tensor(label.Select(v => (long)v).ToArray(), new long[] { 1, 1, h, w });
        using var it = tensor(inst.Select(v => (long)v).ToArray(), new long[] { 1, 1, h, w });
        using var fromTensors = SpadeInput.BuildSemantics(lt, it, nc - 1, containDontcareLabel: true);
        Assert.Equal(fromTensors.data<float>().ToArray(), fromArrays);
        Assert.Contains(1f, fromArrays.AsSpan(nc * w * h).ToArray());
        Assert.Contains(0f, fromArrays.AsSpan(nc * w * h).ToArray());
    }
}
