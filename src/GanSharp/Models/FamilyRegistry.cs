using GanSharp.Losses;
using GanSharp.Models.AcGan;
using GanSharp.Models.Began;
using GanSharp.Models.Common;
using GanSharp.Models.Dcgan;
using GanSharp.Models.ProGan;
using GanSharp.Models.Wgan;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Models;

/// <summary>One family of <c>gansharp train-family</c>: its command-line name, its recipe and its default loss.</summary>
/// <param name="Name">The <c>--family</c> spelling, also the family name saved in checkpoints.</param>
/// <param name="Family">The options' enum value.</param>
/// <param name="Loss">The adversarial loss when <c>--loss</c> is not given.</param>
/// <param name="Create">Builds the family's recipe from the run's options and tricks.</param>
internal sealed record FamilyEntry(
    string Name,
    GanFamily Family,
    AdversarialLoss Loss,
    Func<FamilyRunOptions, TricksOptions, AdversarialRecipe> Create);

/// <summary>
/// The families, one line each, in the order of <see cref="GanFamily"/>: adding a family is its own folder under
/// Models/ plus one line here (and its enum value). The command line's choices and the runner's dispatch read it.
/// </summary>
internal static class FamilyRegistry
{
    /// <summary>Every family, in the order of <see cref="GanFamily"/>.</summary>
    public static IReadOnlyList<FamilyEntry> All { get; } =
    [
        new("mlp", GanFamily.Mlp, AdversarialLoss.Original, (o, t) => new DcganRecipe(o, t)),
        new("dcgan", GanFamily.Dcgan, AdversarialLoss.Original, (o, t) => new DcganRecipe(o, t)),
        new("lsgan", GanFamily.Lsgan, AdversarialLoss.Ls, (o, t) => new DcganRecipe(o, t)),
        new("wgan", GanFamily.Wgan, AdversarialLoss.W, (o, t) => new WganRecipe(o, t)),
        new("wgan-gp", GanFamily.WganGp, AdversarialLoss.W, (o, t) => new WganRecipe(o, t)),
        new("began", GanFamily.Began, AdversarialLoss.Original, (o, t) => new BeganRecipe(o, t)),
        new("progan", GanFamily.ProGan, AdversarialLoss.W, (o, t) => new ProGanRecipe(o, t)),
        new("acgan", GanFamily.AcGan, AdversarialLoss.Original, (o, t) => new AcGanRecipe(o, t)),
    ];

    /// <summary>The command-line names, in the order of <see cref="GanFamily"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(e => e.Name).ToArray();

    /// <summary>The entry of a family.</summary>
    public static FamilyEntry Of(GanFamily family) =>
        All.FirstOrDefault(e => e.Family == family)
        ?? throw new ArgumentOutOfRangeException(nameof(family), family, "a family without a line in FamilyRegistry");

    /// <summary>The recipe of a run's family with its tricks.</summary>
    public static AdversarialRecipe CreateRecipe(FamilyRunOptions family, TricksOptions tricks) => Of(family.Family).Create(family, tricks);
}
