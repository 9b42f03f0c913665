using System.CommandLine;
using GanSharp.Options;
using GanSharp.Training;

namespace GanSharp.Cli.Options;

/// <summary>
/// The options of a family run (<see cref="FamilyOptionSpecs"/>) and of its run folder (<see cref="RunOptionSpecs"/>
/// with the families' defaults, <see cref="RunOptions.Family"/>); <c>train-family</c> uses them.
/// </summary>
public sealed class FamilyOptionsBinder
{
    private readonly CatalogOptions<FamilyRunOptions> _family = new(FamilyOptionSpecs.Catalog, FamilyRunOptions.Default);
    private readonly CatalogOptions<RunOptions> _run = new(RunOptionSpecs.Folder.Concat(RunOptionSpecs.Cadence), RunOptions.Family);

    /// <summary>Every option, for adding to a command.</summary>
    public IReadOnlyList<Option> All => [.. _family.All, .. _run.All];

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        _family.AddTo(command);
        _run.AddTo(command);
    }

    /// <summary>The family options of a parse.</summary>
    public FamilyRunOptions Bind(ParseResult parse) => _family.Bind(parse, FamilyRunOptions.Default);

    /// <summary>The run-folder options of a parse.</summary>
    public RunOptions BindRun(ParseResult parse) => _run.Bind(parse, RunOptions.Family);
}
