using System.CommandLine;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Runs;
using GanSharp.Training;

namespace GanSharp.Cli.Options;

/// <summary>
/// The SPADE options of <c>train</c> and <c>test</c> besides the data options: networks, losses, optimizer, run.
/// Kebab-case names with the NVlabs/SPADE names as aliases.
/// </summary>
public sealed class SpadeOptionsBinder
{
    private readonly OptionTable<SpadeRunOptions> _table = new();

    public SpadeOptionsBinder(bool training)
    {
        var t = _table;
        var m = new SpadeModelOptions { LabelNc = 13 };
        var l = new SpadeLossOptions();
        var o = new OptimOptions();
        var r = new RunOptions();
        // Run
        t.Add("--name", [], "Name of the experiment: its checkpoints go to <checkpoints-dir>/<name>.", r.Name, "run.name", (x, v) => x with { Run = x.Run with { Name = v } });
        t.Add("--checkpoints-dir", ["--checkpoints_dir"], "Folder of run folders.", r.CheckpointsDir, "run.checkpoints_dir", (x, v) => x with { Run = x.Run with { CheckpointsDir = v } });
        t.Add("--which-epoch", ["--which_epoch"], "Which checkpoint to load: 'latest' or an epoch number.", r.WhichEpoch, "run.which_epoch", (x, v) => x with { Run = x.Run with { WhichEpoch = v } });
        t.Add("--seed", [], "Seed of weight init, data order, augmentation and noise: the same seed gives the same run.", r.Seed, "run.seed", (x, v) => x with { Run = x.Run with { Seed = v } });
        t.Add("--threads", [], "Threads for libtorch's parallel ops (0 = one per core).", 0, "threads", (x, v) => x with { Threads = v });
        // Networks
        t.Add("--ngf", [], "Width of the generator's first layer (channels scale from 16*ngf down to ngf).", m.Ngf, "model.ngf", (x, v) => x with { Model = x.Model with { Ngf = v } });
        t.Add("--ndf", [], "Width of the discriminator's first layer.", m.Ndf, "model.ndf", (x, v) => x with { Model = x.Model with { Ndf = v } });
        t.Add("--z-dim", ["--z_dim"], "Size of the latent vector of the VAE.", m.ZDim, "model.z_dim", (x, v) => x with { Model = x.Model with { ZDim = v } });
        t.Add("--norm-G", ["--norm_G", "--norm-g"], "Generator norm: [spectral]spade{instance|batch|syncbatch}KxK.", m.NormG, "model.norm_g", (x, v) => x with { Model = x.Model with { NormG = v } });
        t.Add("--norm-D", ["--norm_D", "--norm-d"], "Discriminator norm: [spectral]{instance|batch|syncbatch|none}.", m.NormD, "model.norm_d", (x, v) => x with { Model = x.Model with { NormD = v } });
        t.Add("--norm-E", ["--norm_E", "--norm-e"], "Encoder norm: [spectral]{instance|batch|syncbatch|none}.", m.NormE, "model.norm_e", (x, v) => x with { Model = x.Model with { NormE = v } });
        t.Add("--num-upsampling-layers", ["--num_upsampling_layers"], "normal (5 upsamplings), more (6) or most (7: larger outputs from the same latent grid).", m.NumUpsamplingLayers, "model.num_upsampling_layers", (x, v) => x with { Model = x.Model with { NumUpsamplingLayers = v } });
        t.Add("--use-vae", ["--use_vae"], "Train the style encoder (VAE) so outputs can take the style of a given photo.", false, "model.use_vae", (x, v) => x with { Model = x.Model with { UseVae = v } });
        t.Add("--num-D", ["--num_D", "--num-d"], "Number of discriminators at successively halved scales.", m.NumD, "model.num_d", (x, v) => x with { Model = x.Model with { NumD = v } });
        t.Add("--n-layers-D", ["--n_layers_D", "--n-layers-d"], "Layers of each discriminator.", m.NLayersD, "model.n_layers_d", (x, v) => x with { Model = x.Model with { NLayersD = v } });
        t.Add("--init-variance", ["--init_variance"], "Gain of the xavier-normal weight init.", m.InitVariance, "model.init_variance", (x, v) => x with { Model = x.Model with { InitVariance = v } });
        if (!training) return;
        // Losses
        t.Add("--gan-mode", ["--gan_mode"], "Adversarial loss: hinge, original (BCE), ls (least squares) or w (Wasserstein).", l.GanMode, "loss.gan_mode", (x, v) => x with { Loss = x.Loss with { GanMode = v } });
        t.Add("--lambda-feat", ["--lambda_feat"], "Weight of the discriminator feature-matching loss.", l.LambdaFeat, "loss.lambda_feat", (x, v) => x with { Loss = x.Loss with { LambdaFeat = v } });
        t.Add("--lambda-vgg", ["--lambda_vgg"], "Weight of the VGG perceptual loss.", l.LambdaVgg, "loss.lambda_vgg", (x, v) => x with { Loss = x.Loss with { LambdaVgg = v } });
        t.Add("--lambda-kld", ["--lambda_kld"], "Weight of the VAE's KL divergence.", l.LambdaKld, "loss.lambda_kld", (x, v) => x with { Loss = x.Loss with { LambdaKld = v } });
        t.Add("--lambda-gan", ["--lambda_gan"], "Weight of G's adversarial loss (the reference fixes it at 1).", l.LambdaGan, "loss.lambda_gan", (x, v) => x with { Loss = x.Loss with { LambdaGan = v } });
        t.Add("--no-ganFeat-loss", ["--no_ganFeat_loss", "--no-gan-feat-loss"], "Train without the feature-matching loss.", false, ["loss.no_gan_feat_loss", "model.no_gan_feat_loss"], (x, v) => x with { Loss = x.Loss with { NoGanFeatLoss = v }, Model = x.Model with { NoGanFeatLoss = v } });
        t.Add("--no-vgg-loss", ["--no_vgg_loss"], "Train without the VGG perceptual loss (no VGG19 weights needed).", false, "loss.no_vgg_loss", (x, v) => x with { Loss = x.Loss with { NoVggLoss = v } });
        t.Add("--vgg-weights", [], $"Path of torchvision's vgg19-dcbbb2b4.pth (or a .safetensors copy) for the VGG loss (or set {SpadeRunner.VggEnvironmentVariable}).", (string?)null, "vgg_weights", (x, v) => x with { VggWeights = v });
        // Optimizer
        t.Add("--lr", [], "Initial Adam learning rate (TTUR gives G lr/2 and D lr*2).", o.Lr, "optim.lr", (x, v) => x with { Optim = x.Optim with { Lr = v } });
        t.Add("--beta1", [], "Adam beta1 with --no-TTUR.", o.Beta1, "optim.beta1", (x, v) => x with { Optim = x.Optim with { Beta1 = v } });
        t.Add("--beta2", [], "Adam beta2 with --no-TTUR.", o.Beta2, "optim.beta2", (x, v) => x with { Optim = x.Optim with { Beta2 = v } });
        t.Add("--no-TTUR", ["--no_TTUR", "--no-ttur"], "Same lr for G and D and betas (beta1, beta2) instead of TTUR.", false, "optim.no_ttur", (x, v) => x with { Optim = x.Optim with { NoTtur = v } });
        t.Add("--niter", [], "Epochs at the initial learning rate.", o.Niter, "optim.niter", (x, v) => x with { Optim = x.Optim with { Niter = v } });
        t.Add("--niter-decay", ["--niter_decay"], "Epochs of linear learning-rate decay to zero after --niter.", o.NiterDecay, "optim.niter_decay", (x, v) => x with { Optim = x.Optim with { NiterDecay = v } });
        t.Add("--lr-scale-g", [], "Extra factor on G's learning rate (a first-aid remedy; 1 = reference).", o.LrScaleG, "optim.lr_scale_g", (x, v) => x with { Optim = x.Optim with { LrScaleG = v } });
        t.Add("--lr-scale-d", [], "Extra factor on D's learning rate (a first-aid remedy; 1 = reference).", o.LrScaleD, "optim.lr_scale_d", (x, v) => x with { Optim = x.Optim with { LrScaleD = v } });
        // Run cadence
        t.Add("--print-freq", ["--print_freq"], "Log losses every this many images.", r.PrintFreq, "run.print_freq", (x, v) => x with { Run = x.Run with { PrintFreq = v } });
        t.Add("--display-freq", ["--display_freq"], "Write sample images to web/ every this many images.", r.DisplayFreq, "run.display_freq", (x, v) => x with { Run = x.Run with { DisplayFreq = v } });
        t.Add("--save-latest-freq", ["--save_latest_freq"], "Save the latest checkpoint every this many images.", r.SaveLatestFreq, "run.save_latest_freq", (x, v) => x with { Run = x.Run with { SaveLatestFreq = v } });
        t.Add("--save-epoch-freq", ["--save_epoch_freq"], "Keep a checkpoint of every this many epochs.", r.SaveEpochFreq, "run.save_epoch_freq", (x, v) => x with { Run = x.Run with { SaveEpochFreq = v } });
        t.Add("--continue-train", ["--continue_train"], "Resume the run exactly where its --which-epoch checkpoint stopped.", false, "run.continue_train", (x, v) => x with { Run = x.Run with { ContinueTrain = v } });
        t.Add("--max-iterations", [], "Stop (resumably) after this many iterations in total (0 = all epochs).", 0L, "run.max_iterations", (x, v) => x with { Run = x.Run with { MaxIterations = v } });
        t.Add("--eval-every", [], "Compute FID and KID every this many epochs on a fixed subset of the training images (needs --inception-weights; 0 = never).", 0, "eval_every", (x, v) => x with { EvalEvery = v });
        t.Add("--eval-samples", [], "Images in the fixed FID/KID subset.", 64, "eval_samples", (x, v) => x with { EvalSamples = v });
        t.Add("--inception-weights", [], "Path of pytorch-fid's pt_inception-2015-12-05-6726825d.pth (or a .safetensors copy) for --eval-every (or set GANSHARP_INCEPTION_WEIGHTS).", (string?)null, "inception_weights", (x, v) => x with { InceptionWeights = v });
        // Diagnostics (the first-aid kit's validation losses, held-out D accuracy and sample diversity)
        t.Add("--val-label-dir", [], "Held-out label maps (e.g. val_label) for validation losses (val/L1, val/VGG) and D's accuracy on held-out photos; with --val-image-dir.", (string?)null, "val_label_dir", (x, v) => x with { ValLabelDir = v });
        t.Add("--val-image-dir", [], "The held-out photos paired with --val-label-dir (e.g. val_img).", (string?)null, "val_image_dir", (x, v) => x with { ValImageDir = v });
        t.Add("--val-instance-dir", [], "Held-out instance maps (e.g. val_inst), needed when training uses instance maps.", (string?)null, "val_instance_dir", (x, v) => x with { ValInstanceDir = v });
        t.Add("--val-every", [], $"Validate every this many iterations, at the next log step (0 = never; default {SpadeRunOptions.DefaultValEvery}, on whenever --val-label-dir is given).", SpadeRunOptions.DefaultValEvery, "val_every", (x, v) => x with { ValEvery = v });
        t.Add("--val-samples", [], "Held-out pairs validated (the first in file order), and as many training pairs for D's training-side accuracy.", 16, "val_samples", (x, v) => x with { ValSamples = v });
        t.Add("--diversity-samples", [], "Fixed training label maps whose fakes' spread is logged as diversity at every log step, for the mode-collapse check (with --use-vae also across this many z; 0 = off).", 8, "diversity_samples", (x, v) => x with { DiversitySamples = v });
        t.Add("--tf-log", ["--tf_log"], "Also write TensorBoard event files to <run>/logs.", false, "run.tf_log", (x, v) => x with { Run = x.Run with { TfLog = v } });
    }

    public void AddTo(Command command) => _table.AddTo(command);

    public (SpadeRunOptions Options, HashSet<string> Given) Bind(ParseResult parse, Data.DataOptions data, IEnumerable<string> dataGiven)
    {
        var given = new HashSet<string>(dataGiven, StringComparer.Ordinal);
        var seed = new SpadeRunOptions { Data = data, Model = new SpadeModelOptions { LabelNc = data.LabelNc } };
        var options = _table.Bind(parse, seed, given);
        options = options with
        {
            Model = options.Model with
            {
                LabelNc = data.LabelNc,
                ContainDontcareLabel = data.ContainDontcareLabel,
                NoInstance = data.NoInstance,
                CropSize = data.CropSize,
                AspectRatio = data.AspectRatio,
            },
        };
        return (options, given);
    }
}
