using GanSharp.Data;
using GanSharp.Training;

namespace GanSharp.Models.Spade;

/// <summary>Adapts the prefetching loader to the trainer: trainer epochs and batch indices map to loader positions.</summary>
internal sealed class SpadeBatchSource(SpadeLoader loader, CancellationToken cancel) : IBatchSource<SpadeBatch>
{
    public int BatchesPerEpoch => loader.BatchesPerEpoch;

    public int BatchSize => loader.Dataset.Options.BatchSize;

    public IEnumerable<SpadeBatch> Epoch(int epoch, int startIndex)
    {
        var batches = loader.ReadEpoch(new LoaderPosition(epoch, startIndex * BatchSize), cancel);
        return Float64Check.On ? batches.Select(b => b.ToFloating(Float64Check.Dtype)) : batches;
    }
}
