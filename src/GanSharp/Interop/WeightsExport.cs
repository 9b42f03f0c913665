using GanSharp.Options;
using System.Text.RegularExpressions;
using GanSharp.Training;

namespace GanSharp.Interop;

/// <summary>The format <see cref="WeightsExport"/> writes.</summary>
public enum ExportFormat
{
    SafeTensors,
    Pth,
}

/// <summary>
/// Copies a run's network weights (<c>{which}_net_{G,G_ema,E,D,...}</c>) into a folder in the chosen format:
/// safetensors for tools that refuse pickles, or .pth for PyTorch's <c>torch.load</c>.
/// </summary>
public static partial class WeightsExport
{
    /// <summary>Writes every network of the run's <paramref name="which"/> checkpoint to <paramref name="outDir"/>; returns the files
    /// written.</summary>
    public static IReadOnlyList<string> Export(string checkpointsDir, string name, string which, ExportFormat format, string outDir)
    {
        new Training.RunOptions { Name = name, WhichEpoch = which }.ValidateNames();
        var folder = new RunFolder(Path.Combine(checkpointsDir, name));
        if (!Directory.Exists(folder.Dir))
            throw new GanSharpException(ErrorKind.Checkpoint, $"{folder.Dir} does not exist: check {RunOptionSpecs.Name.Flag} and "
                + $"{RunOptionSpecs.CheckpointsDir.Flag}.");
        var sources = Sources(folder.Dir, which);
        if (sources.Count == 0)
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{folder.Dir} has no {which}_net_*.pth or .safetensors: pass the {RunOptionSpecs.WhichEpoch.Flag} of a saved checkpoint "
                    + "(for example latest).");
        Directory.CreateDirectory(outDir);
        var written = new List<string>();
        foreach (var (net, source) in sources)
        {
            string ext = format == ExportFormat.SafeTensors ? WeightsFile.SafeTensorsExtension : ".pth";
            string target = Path.Combine(outDir, $"{which}_net_{net}{ext}");
            if (Path.GetFullPath(target) == Path.GetFullPath(source))
                throw new GanSharpException(ErrorKind.Usage, $"--out would overwrite {source} with itself: choose another folder.");
            using var sd = WeightsFile.ReadStateDict(source);
            // Both writers go through AtomicFile: an interrupted export leaves no half-written weights behind.
            if (format == ExportFormat.SafeTensors)
                SafeTensors.Write(target, sd, new Dictionary<string, string> { ["format"] = "pt", ["gansharp_source"] = Path.GetFileName(source) });
            else
                PthWriter.WriteStateDict(target, sd);
            written.Add(target);
        }
        return written;
    }

    // {which}_net_{net}.pth or .safetensors; when both exist the .pth is the one training wrote.
    private static List<(string Net, string Path)> Sources(string dir, string which)
    {
        var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var pattern = NetFile();
        foreach (var file in Directory.EnumerateFiles(dir, which + "_net_*"))
        {
            string fileName = Path.GetFileName(file);
            var m = pattern.Match(fileName);
            if (!m.Success || !fileName.StartsWith(which + "_net_", StringComparison.Ordinal) || m.Groups["which"].Value != which) continue;
            string net = m.Groups["net"].Value;
            if (m.Groups["ext"].Value == ".pth" || !found.ContainsKey(net)) found[net] = file;
        }
        return found.Select(kv => (kv.Key, kv.Value)).ToList();
    }

    [GeneratedRegex(@"^(?<which>.+?)_net_(?<net>[A-Za-z0-9_]+)(?<ext>\.pth|\.safetensors)$")]
    private static partial Regex NetFile();
}
