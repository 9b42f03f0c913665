using GanSharp.Losses;
using GanSharp.Training;
using GanSharp.Training.Tricks;
using static TorchSharp.torch;

namespace GanSharp.Models.Common;

/// <summary>
/// What a family hands to <see cref="AdversarialRecipe"/>: its networks and its own defaults. <see cref="PenaltyWeight"/>
/// (λ of WGAN-GP, γ of R1) and <see cref="EmaBeta"/> (0 = no average of G) apply when the tricks leave them unset;
/// <see cref="Saturating"/> switches G to the saturating minimax loss (original loss only).
/// </summary>
internal sealed record FamilyParts(
    string Family,
    nn.Module<Tensor, Tensor, Tensor> G,
    nn.Module<Tensor, Tensor> D,
    Func<nn.Module<Tensor, Tensor, Tensor>> MakeG,
    int ZDim,
    int Classes,
    AdversarialLoss Loss,
    OptimizerKind Optimizer,
    double LrG,
    double LrD,
    double Beta1,
    double Beta2,
    int DSteps,
    PenaltyKind Penalty,
    double Drift = 0,
    double PenaltyWeight = 10,
    double EmaBeta = 0,
    bool Saturating = false);
