using System.Text.Json;

namespace GanSharp.Diagnostics;

/// <summary>
/// What the doctor needs from a run's <c>options.json</c>, read once: which kind of run it is (a run of
/// <c>--family</c> records its family; everything else is a SPADE run) and the label folder it trained on.
/// A missing or unreadable file reads as a SPADE run with no label folder.
/// </summary>
/// <param name="Kind">SPADE or family, for the wording of remedies.</param>
/// <param name="LabelDirs">The full paths the run's <c>data.label_dir</c> may stand for (none for runs without one,
/// e.g. the 2-D families): a relative folder is resolved against the folder training ran in, when that can be worked
/// out from the relative checkpoints folder, and against the current one.</param>
internal sealed record RunFolderOptions(RunKind Kind, IReadOnlyList<string> LabelDirs)
{
    /// <summary>Reads <c>options.json</c> in <paramref name="runDir"/>.</summary>
    public static RunFolderOptions Read(string runDir)
    {
        var none = new RunFolderOptions(RunKind.Spade, []);
        string optionsPath = Path.Combine(runDir, "options.json");
        if (!File.Exists(optionsPath)) return none;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(optionsPath));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return none;
            var kind = root.TryGetProperty("family", out _) ? RunKind.Family : RunKind.Spade;
            return new RunFolderOptions(kind, TrainingLabelDirs(runDir, root));
        }
        catch (JsonException)
        {
            return none;
        }
    }

    private static List<string> TrainingLabelDirs(string runDir, JsonElement root)
    {
        if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
            || !data.TryGetProperty("label_dir", out var ld) || ld.ValueKind != JsonValueKind.String) return [];
        string label = ld.GetString()!;
        var dirs = new List<string>();
        if (Path.IsPathRooted(label)) dirs.Add(label);
        else
        {
            if (TrainingWorkingDirectory(runDir, root) is { } cwd) dirs.Add(Path.GetFullPath(label, cwd));
            dirs.Add(Path.GetFullPath(label));
        }
        return dirs.Select(Path.TrimEndingDirectorySeparator).Distinct(StringComparer.Ordinal).ToList();
    }

    // The folder training ran in, when the run folder was given relative to it (run.checkpoints_dir/run.name).
    private static string? TrainingWorkingDirectory(string runDir, JsonElement options)
    {
        if (!options.TryGetProperty("run", out var run) || run.ValueKind != JsonValueKind.Object
            || !run.TryGetProperty("checkpoints_dir", out var cd) || cd.ValueKind != JsonValueKind.String
            || !run.TryGetProperty("name", out var nm) || nm.ValueKind != JsonValueKind.String) return null;
        string rel = Path.Combine(cd.GetString()!, nm.GetString()!);
        if (Path.IsPathRooted(rel)) return null;
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(runDir));
        string? candidate = full;
        foreach (var part in rel.Split(['/', '\\'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..") return null;
            candidate = Path.GetDirectoryName(candidate!);
            if (candidate is null) return null;
        }
        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(rel, candidate!)) == full ? candidate : null;
    }
}
