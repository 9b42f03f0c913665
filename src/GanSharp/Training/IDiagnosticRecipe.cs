namespace GanSharp.Training;

/// <summary>
/// Optional diagnostics a recipe can provide. The trainer calls <see cref="ReportDiagnostics"/> under
/// <c>no_grad</c> in every iteration whose statistics are flushed, after the phases, with that iteration's batch.
/// </summary>
/// <remarks>
/// Report what the family can: <c>diversity</c> (<see cref="Diagnostics.SampleDiversity"/> of fakes from a fixed batch of z, or of
/// fixed different conditions for a conditional G) and <c>diversity_real</c> (the same for the matching real data),
/// <c>diversity_z</c> for a conditional G with a latent (one fixed condition, several fixed z), held-out D accuracy
/// through <see cref="Diagnostics.DiscriminatorStats.ReportHeldOut"/> (with <see cref="Diagnostics.DiscriminatorStats.ReportTrainReference"/>
/// for the training side scored the same way), and validation losses as <c>val/&lt;term&gt;</c> (e.g. <c>val/VGG</c>,
/// <c>val/L1</c>) on a held-out split; a recipe may compute those only every K-th call (<see cref="Diagnostics.ValidationSchedule"/>).
/// Any randomness must come from a private generator and any buffer a forward moves must be put back: exact resume
/// and the training trajectory must not depend on whether diagnostics ran.
/// </remarks>
internal interface IDiagnosticRecipe<in TBatch>
{
    void ReportDiagnostics(TBatch batch, StepContext context);
}
