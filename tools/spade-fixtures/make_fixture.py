"""Makes a spade-tiny style fixture folder from an unmodified NVlabs/SPADE checkout (run from its root).

usage: python3 make_fixture.py fixture OUT_DIR "ARGV of config A" ["ARGV of config B"]
       python3 make_fixture.py opt OUT_FILE "ARGV"     (only the opt.txt that TrainOptions writes for ARGV)

Follows the order of operations of the spade-tiny README: seed 0 before the trainer, batch from its own generator
(seed 100 for A, 200 for B), eval forward of the init G, one full training iteration (G step, D step with the
regenerated fake), the after-states and optimizer states; B: encoder and generator forwards from a fixed z.
"""
import os
import sys
from collections import OrderedDict

import torch

torch.set_num_threads(1)


def parse(argv):
    sys.argv = ['train.py'] + argv.split()
    from options.train_options import TrainOptions
    return TrainOptions().parse()


def make_batch(opt, n, size_h, size_w, seed):
    g = torch.Generator().manual_seed(seed)
    raw = torch.randint(0, opt.label_nc, (n, 1, size_h, size_w), generator=g)
    if opt.contain_dontcare_label:
        dc = torch.rand((n, 1, size_h, size_w), generator=g) < 0.08
        raw = torch.where(dc, torch.full_like(raw, 255), raw)
    # Blocky maps (8x8 cells) so that edges and regions both occur.
    raw = raw[:, :, ::8, ::8].repeat_interleave(8, 2).repeat_interleave(8, 3)[:, :, :size_h, :size_w].contiguous()
    label = raw.clone()
    label[label == 255] = opt.label_nc
    k = torch.randint(0, 3, (n, 1, size_h // 16, size_w // 16), generator=g)
    k = k.repeat_interleave(16, 2).repeat_interleave(16, 3)[:, :, :size_h, :size_w]
    instance = label * 1000 + k
    image = torch.rand((n, 3, size_h, size_w), generator=g) * 2 - 1
    return {'label': label, 'label_raw': raw, 'instance': instance, 'image': image, 'path': ['x'] * n}


def hook_pretanh(net, store, key):
    return net.conv_img.register_forward_hook(lambda m, i, o: store.__setitem__(key, o.detach().clone()))


def build(argv):
    """Options, then torch.manual_seed(0) immediately before the trainer, as the spade-tiny README says."""
    opt = parse(argv)
    from trainers.pix2pix_trainer import Pix2PixTrainer
    torch.manual_seed(0)
    trainer = Pix2PixTrainer(opt)
    return opt, trainer, trainer.pix2pix_model_on_one_gpu


def save_batch(opt, model, n, seed, path):
    h = int(round(opt.crop_size / opt.aspect_ratio))
    data = make_batch(opt, n, h, opt.crop_size, seed)
    sem, image = model.preprocess_input({k: (v.clone() if torch.is_tensor(v) else v) for k, v in data.items()})
    edges = model.get_edges(data['instance']) if not opt.no_instance else torch.zeros(0)
    torch.save({'label': data['label'], 'label_raw': data['label_raw'], 'instance': data['instance'], 'image': image,
                'input_semantics': sem, 'edges': edges}, path)
    return data, sem, image


def config_a(out, argv):
    opt, trainer, model = build(argv)
    netG, netD = model.netG, model.netD
    torch.save(netG.state_dict(), os.path.join(out, 'A_G_init.pth'))
    torch.save(netD.state_dict(), os.path.join(out, 'A_D_init.pth'))
    torch.save(netG.state_dict(), os.path.join(out, 'A_G_init_legacy.pth'), _use_new_zipfile_serialization=False)
    netE = model.netE
    if netE is not None:
        torch.save(netE.state_dict(), os.path.join(out, 'A_E_init.pth'))

    data, sem, image = save_batch(opt, model, opt.batchSize, 100, os.path.join(out, 'A_batch.pth'))

    exp = OrderedDict()
    cap = {}
    hg = hook_pretanh(netG, cap, 'pre')
    # With the VAE, G without z draws it on input.get_device(), which fails on the CPU: no eval forwards then.
    if netE is None:
        netG.eval()
        with torch.no_grad():
            exp['G_eval'] = netG(sem)
        exp['G_eval_pretanh'] = cap['pre']
        netG.train()

    d_outputs = []
    hd = netD.register_forward_hook(lambda m, i, o: d_outputs.append([[t.detach().clone() for t in s] for s in o]))
    g_images = []
    hg2 = netG.register_forward_hook(lambda m, i, o: g_images.append((o.detach().clone(), cap['pre'])))

    data_g = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in data.items()}
    trainer.run_generator_one_step(data_g)
    exp['G_train_fake_pretanh'] = g_images[0][1]
    for name, v in trainer.g_losses.items():
        exp['loss_G_' + name] = float(v)
    data_d = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in data.items()}
    trainer.run_discriminator_one_step(data_d)
    for name, v in trainer.d_losses.items():
        exp['loss_' + name] = float(v)
    exp['G_train_fake'] = trainer.get_latest_generated().detach().clone()
    n = opt.batchSize
    for prefix, outs in (('D', d_outputs[0]), ('Dstep', d_outputs[1])):
        for s, scale in enumerate(outs):
            for l, t in enumerate(scale):
                exp[f'{prefix}_fake_s{s}_l{l}'] = t[:n]
                exp[f'{prefix}_real_s{s}_l{l}'] = t[n:]
    exp['Dstep_fake_image'] = g_images[1][0]
    exp['Dstep_fake_image_pretanh'] = g_images[1][1]
    # optimizer_G holds netG's parameters, then netE's (create_optimizers).
    exp['optG_param_names'] = [k for k, _ in netG.named_parameters()] + \
        ([] if netE is None else ['netE.' + k for k, _ in netE.named_parameters()])
    exp['optD_param_names'] = [k for k, _ in netD.named_parameters()]
    exp['seed'] = 0
    exp['batch_seed'] = 100
    exp['options'] = argv
    hd.remove()
    hg2.remove()

    torch.save(netG.state_dict(), os.path.join(out, 'A_G_after.pth'))
    torch.save(netD.state_dict(), os.path.join(out, 'A_D_after.pth'))
    torch.save(trainer.optimizer_G.state_dict(), os.path.join(out, 'A_optG_after.pth'))
    torch.save(trainer.optimizer_D.state_dict(), os.path.join(out, 'A_optD_after.pth'))
    if netE is not None:
        torch.save(netE.state_dict(), os.path.join(out, 'A_E_after.pth'))
    else:
        netG.eval()
        with torch.no_grad():
            exp['G_eval_after'] = netG(sem)
        exp['G_eval_after_pretanh'] = cap['pre']
        netG.train()
    hg.remove()
    torch.save(dict(exp), os.path.join(out, 'A_expected.pth'))


def config_b(out, argv):
    opt, trainer, model = build(argv)
    netG, netE = model.netG, model.netE
    torch.save(netG.state_dict(), os.path.join(out, 'B_G_init.pth'))
    torch.save(netE.state_dict(), os.path.join(out, 'B_E_init.pth'))
    _, sem, image = save_batch(opt, model, 1, 200, os.path.join(out, 'B_batch.pth'))
    exp = OrderedDict()
    with torch.no_grad():
        netE.eval()
        mu, logvar = netE(image)
        exp['mu'], exp['logvar'] = mu, logvar
        z = torch.randn(1, opt.z_dim, generator=torch.Generator().manual_seed(1234))
        exp['z'] = z
        cap = {}
        hook_pretanh(netG, cap, 'pre')
        netG.eval()
        exp['G_eval_from_z'] = netG(sem, z=z)
        exp['G_eval_from_z_pretanh'] = cap['pre']
        netG.train()
        exp['G_trainmode_from_z'] = netG(sem, z=z)
    exp['seed'] = 0
    exp['batch_seed'] = 200
    exp['z_seed'] = 1234
    exp['options'] = argv
    torch.save(dict(exp), os.path.join(out, 'B_expected.pth'))


def opt_text(out, argv):
    import shutil
    opt = parse(argv)
    shutil.copy(os.path.join(opt.checkpoints_dir, opt.name, 'opt.txt'), out)


if __name__ == '__main__':
    mode, out = sys.argv[1], os.path.abspath(sys.argv[2])
    if mode == 'opt':
        opt_text(out, sys.argv[3])
    else:
        os.makedirs(out, exist_ok=True)
        a, b = sys.argv[3], (sys.argv[4] if len(sys.argv) > 4 else None)
        config_a(out, a)
        if b:
            config_b(out, b)
