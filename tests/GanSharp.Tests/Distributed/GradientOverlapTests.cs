using GanSharp.Distributed;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using static TorchSharp.torch;

namespace GanSharp.Tests.Distributed;

/// <summary>
/// The overlapped gradient averaging in one process: a transport that simulates a second rank whose gradients are three
/// times this one's (the sum is four times the bucket as it was when its sum started). The means written back equal twice
/// the local gradients only if every gradient was summed, and only after it was final; the test also requires that
/// most of them started during the backward, i.e. that the overlap happens.
/// </summary>
[Collection("torch-global-rng")]
public sealed class GradientOverlapTests
{
    private static readonly SpadeModelOptions Tiny = new()
    {
        LabelNc = 3, ContainDontcareLabel = false, NoInstance = true, CropSize = 32, Ngf = 2, Ndf = 4, NumD = 2, NLayersD = 3,
        UseVae = true,
    };

    // D: its last groups (largest) end the forward, so the backward reaches them first. G: the blocks after head_0.
    [Theory]
    [InlineData("D", 0.8)]
    [InlineData("G", 0.3)]
    public void SumsStartDuringTheBackwardAndOnlyOnFinalGradients(string phase, double minimumShare)
    {
        manual_seed(21);
        var labels = randint(0, 3, [2, 32, 32]);
        var semantics = nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).to_type(ScalarType.Float32);
        var image = rand([2, 3, 32, 32]) * 2 - 1;
        manual_seed(5);
        using var model = new SpadeModel(Tiny, new SpadeLossOptions { NoVggLoss = true });
        using var scope = NewDisposeScope();
        var parameters = (phase == "G" ? model.GeneratorParameters() : model.DiscriminatorParameters()).ToList();
        var ranks = new IdenticalRanks();
        var averager = new GradientAverager(ranks, parameters, bucketFloats: 64);
        averager.BeginForward();
        try
        {
            Check(model, semantics, image, phase, minimumShare, parameters, ranks, averager);
        }
        finally
        {
            // A failed assertion must not leave this thread's listener armed for the next test.
            averager.Abandon();
        }
    }

    private static void Check(SpadeModel model, Tensor semantics, Tensor image, string phase, double minimumShare,
        List<TorchSharp.Modules.Parameter> parameters, IdenticalRanks ranks, GradientAverager averager)
    {
        Tensor loss;
        if (phase == "G")
        {
            var g = model.ComputeGeneratorLoss(semantics, image);
            loss = g.Named.Select(t => t.Value).Aggregate((a, b) => a + b);
        }
        else
        {
            var d = model.ComputeDiscriminatorLoss(semantics, image);
            loss = d.DFake + d.DReal;
        }
        averager.Arm("the test's allreduce");
        loss.backward();
        var local = parameters.Select(p => p.grad?.clone()).ToList();
        averager.Finish();
        averager.Abandon();
        Assert.Null(BackwardProgress.Listener);
        for (int i = 0; i < parameters.Count; i++)
        {
            if (local[i] is null)
            {
                Assert.Null(parameters[i].grad);
                continue;
            }
            bool same = (local[i]! * 2).eq(parameters[i].grad!).all().item<bool>();
            Assert.True(same, $"parameter {i} of {phase}: not summed, or summed before its gradient was final");
        }
        double share = (double)averager.OverlappedFloats / (averager.OverlappedFloats + averager.TrailingFloats);
        Assert.True(ranks.Started > 2, $"{ranks.Started} buckets");
        Assert.True(share >= minimumShare, $"{share:P0} of {phase}'s gradients started during the backward");
    }

    // A phase abandoned after its sums started (an exception after the backward) waits for them and frees them: the
    // next phase's means are its own, not the abandoned buckets'.
    [Fact]
    public void AnAbandonedPhaseLeavesNothingForTheNext()
    {
        manual_seed(5);
        using var model = new SpadeModel(Tiny, new SpadeLossOptions { NoVggLoss = true });
        using var scope = NewDisposeScope();
        var image = rand([2, 3, 32, 32]) * 2 - 1;
        var semantics = nn.functional.one_hot(randint(0, 3, [2, 32, 32]), 3).permute(0, 3, 1, 2).to_type(ScalarType.Float32);
        var parameters = model.DiscriminatorParameters().ToList();
        var ranks = new IdenticalRanks();
        var averager = new GradientAverager(ranks, parameters, bucketFloats: 64);
        Tensor Loss()
        {
            var d = model.ComputeDiscriminatorLoss(semantics, image);
            return d.DFake + d.DReal;
        }
        averager.BeginForward();
        var first = Loss();
        averager.Arm("the abandoned phase");
        first.backward();
        Assert.True(ranks.Started > 0);
        averager.Abandon();
        Assert.Null(BackwardProgress.Listener);
        Assert.Equal(0, ranks.Pending);
        foreach (var p in parameters) p.grad?.zero_();
        averager.BeginForward();
        var second = (Loss() * 3).MoveToOuterDisposeScope();
        averager.Arm("the next phase");
        second.backward();
        var local = parameters.Select(p => p.grad?.clone()).ToList();
        averager.Finish();
        for (int i = 0; i < parameters.Count; i++)
            if (local[i] is { } g) Assert.True((g * 2).eq(parameters[i].grad!).all().item<bool>(), $"parameter {i}");
    }

    [Theory]
    [InlineData(null, false, false)]
    [InlineData("auto", true, true)]
    [InlineData("", true, true)]
    [InlineData(" On ", false, true)]
    [InlineData("off", true, false)]
    public void OverlapIsOnAcrossMachinesUnlessSet(string? setting, bool spansMachines, bool expected) =>
        Assert.Equal(expected, GradientAverager.ChooseOverlap(setting, spansMachines));

    [Theory]
    [InlineData(null, GradientAverager.BucketFloats)]
    [InlineData(" ", GradientAverager.BucketFloats)]
    [InlineData("256", 256L)]
    public void BucketSizeComesFromTheVariable(string? text, long expected) => Assert.Equal(expected, GradientAverager.ParseBucketFloats(text));

    [Theory]
    [InlineData("4MB")]
    [InlineData("0")]
    [InlineData("3000000000")]
    public void ABadBucketSizeIsAUsageError(string text)
    {
        var e = Assert.Throws<GanSharpException>(() => GradientAverager.ParseBucketFloats(text));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.StartsWith($"GANSHARP_ALLREDUCE_BUCKET_FLOATS={text} is not a number of values per bucket", e.Message);
    }

    [Fact]
    public void AnUnknownOverlapSettingIsAUsageError()
    {
        var e = Assert.Throws<GanSharpException>(() => GradientAverager.ChooseOverlap("yes", false));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Equal("GANSHARP_ALLREDUCE_OVERLAP=yes is not a setting: use on, off or auto.", e.Message);
    }

    // Two ranks, the other's gradients three times this one's: every sum is four times the bucket (exact in float).
    private sealed class IdenticalRanks : IGradientTransport
    {
        private readonly List<Tensor> _pending = [];

        public int Size => 2;

        public int Started { get; private set; }

        public int Pending => _pending.Count;

        public void StartSum(Tensor t, string what)
        {
            _pending.Add(t);
            Started++;
        }

        public void AllreduceSum(Tensor t, string what) => throw new InvalidOperationException("the overlapped averager summed a bucket blocking");

        public void Progress()
        {
        }

        public void WaitAll(string what)
        {
            foreach (var t in _pending) t.mul_(4);
            _pending.Clear();
        }
    }
}
