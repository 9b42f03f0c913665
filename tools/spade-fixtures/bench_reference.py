"""Times the unmodified NVlabs SPADE code on this machine with the options of `GanSharp.Bench spade` (run from the
root of an NVlabs/SPADE checkout, as make_fixture.py; see README.md there).

usage: python3 bench_reference.py CONFIG [train|test]     CONFIG: a | b | c | d

Prints one line: config, mode, median seconds per iteration (of 20, after 3 warm-up) or per image, peak RSS in MB,
and the parameter counts. 2 intra-op threads; batch 1; label_nc 13; no VGG loss, no instance maps. Run it once with
glibc's malloc and once with LD_PRELOAD=libtcmalloc_minimal.so.4 (which keeps freed pages, as GanSharp's runs do) and
take the better, as the issue's reference figures do.
"""
import resource
import statistics
import sys
import time

import torch

CONFIGS = {
    'a': '--crop_size 64 --load_size 64 --ngf 16 --ndf 16',
    'b': '--crop_size 128 --load_size 128 --ngf 32 --ndf 32',
    'c': '--crop_size 256 --load_size 256',
    'd': '--crop_size 256 --load_size 256 --ngf 32 --use_vae',
}


def main():
    config, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else 'train')
    torch.set_num_threads(2)
    sys.argv = ['train.py'] + ('--name bench --dataset_mode custom --label_dir x --image_dir y --label_nc 13 --no_instance '
                               '--no_vgg_loss --batchSize 1 --gpu_ids -1 --checkpoints_dir /tmp/spade-bench ' + CONFIGS[config]).split()
    from options.train_options import TrainOptions
    opt = TrainOptions().parse()
    from trainers.pix2pix_trainer import Pix2PixTrainer
    torch.manual_seed(0)
    trainer = Pix2PixTrainer(opt)
    model = trainer.pix2pix_model_on_one_gpu
    counts = [sum(p.numel() for p in n.parameters()) if n is not None else 0 for n in (model.netG, model.netD, model.netE)]
    s = opt.crop_size
    data = {'label': torch.randint(0, 13, (1, 1, s, s)), 'instance': torch.zeros(1), 'image': torch.rand(1, 3, s, s) * 2 - 1,
            'path': ['x']}
    times = []
    for i in range(23):
        t = time.perf_counter()
        if mode == 'train':
            trainer.run_generator_one_step(dict(data))
            trainer.run_discriminator_one_step(dict(data))
        else:
            model.eval()
            with torch.no_grad():
                model(dict(data), mode='inference')
        if i >= 3:
            times.append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f'{config} {mode} {statistics.median(times):.3f} s {rss:.0f} MB params {counts[0]}/{counts[1]}/{counts[2]}')


if __name__ == '__main__':
    main()
