using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Losses;

/// <summary>Feature matching: L1 between D's intermediate outputs for fake and (detached) real, weighted by lambda / num_D.</summary>
internal static class FeatureMatchingLoss
{
    /// <param name="fake">Per scale, D's outputs for the fake batch (the last, the prediction, is skipped).</param>
    /// <param name="real">The same for the real batch; detached here.</param>
    /// <param name="lambdaFeat">The reference's lambda_feat (10).</param>
    public static Tensor Compute(IReadOnlyList<IReadOnlyList<Tensor>> fake, IReadOnlyList<IReadOnlyList<Tensor>> real, double lambdaFeat)
    {
        using var scope = NewDisposeScope();
        int numD = fake.Count;
        Tensor total = zeros(1, device: fake[0][0].device);
        for (int i = 0; i < numD; i++)
        {
            for (int j = 0; j < fake[i].Count - 1; j++)
            {
                var l1 = F.l1_loss(fake[i][j], real[i][j].detach());
                // Same accumulation order as the reference: += L1 * lambda / num_D.
                total = total.add(l1.mul(lambdaFeat).div(numD));
            }
        }
        return total.squeeze(0).MoveToOuterDisposeScope();
    }
}
