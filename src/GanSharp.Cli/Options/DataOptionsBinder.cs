using System.CommandLine;
using GanSharp.Data;
using GanSharp.Options;

namespace GanSharp.Cli.Options;

/// <summary>
/// The data options (<see cref="DataOptionSpecs"/>) on their own, for the data verbs; <c>train</c> and <c>test</c>
/// take them as part of <see cref="SpadeOptionsBinder"/>.
/// </summary>
public sealed class DataOptionsBinder
{
    private readonly CatalogOptions<DataOptions> _options;

    /// <param name="requireFolders">Whether --label-dir and --image-dir must be given.</param>
    /// <param name="isTrain">Whose defaults --help shows: training's or testing's.</param>
    public DataOptionsBinder(bool requireFolders = true, bool isTrain = true)
    {
        _options = new CatalogOptions<DataOptions>(DataOptionSpecs.Catalog, DataOptions.Create("", "", isTrain));
        if (!requireFolders) return;
        foreach (var folder in new[] { DataOptionSpecs.LabelDir, DataOptionSpecs.ImageDir })
        {
            // A required option must have no default, or the default would count as given.
            var option = (Option<string>)_options[folder];
            option.Required = true;
            option.DefaultValueFactory = null;
        }
    }

    /// <summary>All options, in the order --help lists them.</summary>
    public IReadOnlyList<Option> All => _options.All;

    /// <summary>Adds every data option to <paramref name="command"/>.</summary>
    public void AddTo(Command command) => _options.AddTo(command);

    /// <summary>
    /// Reads the options into a record with the reference's train or test defaults (load size 286 or 256; at test
    /// time serial order and no flip unless asked otherwise) and validates the numbers.
    /// </summary>
    /// <param name="parse">The parsed command line.</param>
    /// <param name="isTrain">Training or test defaults.</param>
    /// <param name="validate">False when the caller completes the options first and validates them then.</param>
    public DataOptions Bind(ParseResult parse, bool isTrain, bool validate = true)
    {
        var o = _options.Bind(parse, DataOptions.Create("", "", isTrain));
        if (validate) o.Validate();
        return o;
    }
}
