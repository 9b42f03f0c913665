using System.Globalization;
using GanSharp.Training;
using TorchSharp;

namespace GanSharp.Interop;

/// <summary>Where a run of the NVlabs code stopped (its iter.txt): the epoch and the images already seen in it.</summary>
/// <remarks><paramref name="FromNVlabs"/> is false for one of our runs whose state was deleted to continue from its
/// weights-only files (e.g. a generator swapped in).</remarks>
public sealed record ReferenceResume(int Epoch, int EpochImages, bool FromNVlabs = true);

/// <summary>
/// Continuing a run folder that has weights but no training state of ours: a run of the NVlabs reference (its opt.txt,
/// iter.txt and <c>*_net_*.pth</c>), or one of our runs whose state was deleted. The weights and the position carry
/// over; optimizer moments start afresh, as in the reference's own --continue_train.
/// </summary>
internal static class ReferenceRun
{
    /// <summary>The reference's iter.txt: "epoch" and "images seen in it", one a line (np.savetxt); absent: epoch 1.</summary>
    public static ReferenceResume ReadIterTxt(string path)
    {
        if (!File.Exists(path)) return new ReferenceResume(1, 0);
        // The reference's np.savetxt puts one number a line; ours writes "epoch,images" on one.
        var numbers = File.ReadAllText(path).Split([' ', '\t', '\r', '\n', ','], StringSplitOptions.RemoveEmptyEntries)
            .Select(t => int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : -1)
            .ToArray();
        if (numbers.Length != 2 || numbers[0] < 1 || numbers[1] < 0)
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{path} should hold the epoch and the images seen in it (two whole numbers, as the reference writes it); " +
                "delete it to continue from epoch 1.");
        return new ReferenceResume(numbers[0], numbers[1]);
    }

    /// <summary>
    /// The trainer's position for a reference run's iter.txt: the reference counts images within the epoch; a count
    /// past this data set's epoch starts the next epoch.
    /// </summary>
    public static TrainPosition Start(ReferenceResume r, int batchSize, int batchesPerEpoch)
    {
        int batch = r.EpochImages / batchSize;
        int epoch = r.Epoch;
        if (batch >= batchesPerEpoch)
        {
            epoch++;
            batch = 0;
        }
        return new TrainPosition(epoch, batch, (long)(epoch - 1) * batchesPerEpoch + batch, (long)batch * batchSize, 0);
    }

    /// <summary>
    /// Loads the <paramref name="which"/>_net_{G,D,E}.pth weights of a run folder into the given networks (null ones
    /// are skipped). G is required; a missing D or E starts from its fresh initialisation, with a note.
    /// </summary>
    public static void LoadWeights(
        IEnumerable<(string Net, torch.nn.Module? Module)> networks, RunFolder folder, string which, Action<string> notice)
    {
        foreach (var (net, module) in networks)
        {
            if (module is null) continue;
            string path = folder.NetPath(which, net);
            if (!File.Exists(path))
            {
                if (net == "G")
                    throw new GanSharpException(ErrorKind.Checkpoint, $"{path} is missing: the run cannot continue without its generator.");
                notice($"{path} is missing: net{net} starts from a fresh initialisation.");
                continue;
            }
            using var sd = PthReader.ReadStateDict(path);
            ModuleState.Load(module, sd, path, "net" + net);
        }
    }
}
