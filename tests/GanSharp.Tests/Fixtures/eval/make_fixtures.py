#!/usr/bin/python3
"""Reference values for GanSharp's evaluation tests (run at development time; CI never runs Python).

Run with Debian's interpreter from the repository root:
    /usr/bin/python3 tests/GanSharp.Tests/Fixtures/eval/make_fixtures.py
Versions used are recorded in README.md beside this script.

Binary arrays are raw little-endian (float32 '.f32', float64 '.f64', int32 '.i32'); shapes are in expected.json.
"""
import io
import json
import math
import os

import numpy as np
import scipy
import scipy.linalg
import skimage
import skimage.data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import inception as tvi
from PIL import Image

OUT = os.path.dirname(os.path.abspath(__file__))
EXPECTED = {}


def save(name, arr, dtype):
    a = np.ascontiguousarray(arr, dtype=dtype)
    a.tofile(os.path.join(OUT, name))
    EXPECTED.setdefault("shapes", {})[name] = list(a.shape)


def save_png(name, arr):
    Image.fromarray(np.asarray(arr, dtype=np.uint8)).save(os.path.join(OUT, name))


# ---------------------------------------------------------------- deterministic parameter formula
# Must match GanSharp.Evaluation.DeterministicWeights exactly: integer hashing is exact in both languages, so
# only the final float scaling can differ, and that by at most one float32 ulp.
M32 = 0xFFFFFFFF


def fnv1a(name):
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & M32
    return h


def unit_values(name, n):
    """n values in [-1, 1) from (parameter name, flat element index)."""
    x = (np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B1) + np.uint64(fnv1a(name))) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 4294967296.0 * 2.0 - 1.0


def deterministic_value(name, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    u = unit_values(name, n)
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "weight" and len(shape) == 4:  # conv: uniform with He variance 2/fan_in
        fan_in = shape[1] * shape[2] * shape[3]
        v = u * math.sqrt(6.0 / fan_in)
    elif leaf == "weight" and len(shape) == 2:  # fc
        v = u * math.sqrt(3.0 / shape[1])
    elif leaf == "weight":  # bn gamma
        v = 1.0 + 0.1 * u
    elif leaf == "running_var":
        v = 1.0 + 0.25 * (u + 1.0)
    elif leaf in ("bias", "running_mean"):
        v = 0.1 * u
    else:
        raise ValueError(name)
    return v.reshape(shape)


# ---------------------------------------------------------------- pytorch-fid's FID Inception, re-created
class FidA(tvi.InceptionA):
    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        # TF's average pool ignores the zero padding
        bp = self.branch_pool(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
        return torch.cat([b1, b5, b3, bp], 1)


class FidC(tvi.InceptionC):
    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = self.branch7x7dbl_1(x)
        d = self.branch7x7dbl_5(self.branch7x7dbl_4(self.branch7x7dbl_3(self.branch7x7dbl_2(d))))
        bp = self.branch_pool(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
        return torch.cat([b1, b7, d, bp], 1)


class FidE(tvi.InceptionE):
    def __init__(self, in_channels, max_pool):
        super().__init__(in_channels)
        self.max_pool = max_pool

    def forward(self, x):
        b1 = self.branch1x1(x)
        t = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(t), self.branch3x3_2b(t)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        if self.max_pool:  # Mixed_7c of the FID network max-pools here
            p = F.max_pool2d(x, 3, 1, 1)
        else:
            p = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        return torch.cat([b1, b3, bd, self.branch_pool(p)], 1)


def fid_inception():
    net = tvi.Inception3(num_classes=1008, aux_logits=False, init_weights=False)
    net.Mixed_5b = FidA(192, 32)
    net.Mixed_5c = FidA(256, 64)
    net.Mixed_5d = FidA(288, 64)
    net.Mixed_6b = FidC(768, 128)
    net.Mixed_6c = FidC(768, 160)
    net.Mixed_6d = FidC(768, 160)
    net.Mixed_6e = FidC(768, 192)
    net.Mixed_7b = FidE(1280, False)
    net.Mixed_7c = FidE(2048, True)
    sd = net.state_dict()
    new = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            new[k] = v
        else:
            new[k] = torch.from_numpy(deterministic_value(k, tuple(v.shape))).to(v.dtype)
    net.load_state_dict(new)
    net.eval()
    return net, sorted(k for k in sd.keys())


def pool3_and_logits(net, x01):
    """x01: [N,3,H,W] in [0,1]; pytorch-fid's resize and scaling, blocks up to the 2048-d average pool."""
    x = F.interpolate(x01, size=(299, 299), mode="bilinear", align_corners=False)
    x = 2 * x - 1
    x = net.Conv2d_1a_3x3(x)
    x = net.Conv2d_2a_3x3(x)
    x = net.Conv2d_2b_3x3(x)
    x = F.max_pool2d(x, 3, 2)
    x = net.Conv2d_3b_1x1(x)
    x = net.Conv2d_4a_3x3(x)
    x = F.max_pool2d(x, 3, 2)
    for m in ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
              "Mixed_7a", "Mixed_7b", "Mixed_7c"]:
        x = getattr(net, m)(x)
    pool = F.adaptive_avg_pool2d(x, 1).flatten(1)
    # torch-fidelity's Inception Score reads "logits_unbiased": the fc layer without its bias
    return pool, F.linear(pool, net.fc.weight)


def tf1_legacy_bilinear(img, out_h, out_w):
    """TF1 resize_bilinear(align_corners=False, half_pixel_centers=False) on [C,H,W] float64."""
    c, h, w = img.shape
    def axis(n_in, n_out):
        src = np.arange(n_out) * (n_in / n_out)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0
    y0, y1, fy = axis(h, out_h)
    x0, x1, fx = axis(w, out_w)
    top = img[:, y0][:, :, x0] * (1 - fx) + img[:, y0][:, :, x1] * fx
    bot = img[:, y1][:, :, x0] * (1 - fx) + img[:, y1][:, :, x1] * fx
    return top * (1 - fy[:, None]) + bot * fy[:, None]


# ---------------------------------------------------------------- metric references
def frechet(mu1, s1, mu2, s2, eps=1e-6):
    """Fréchet distance with pytorch-fid's square-root handling (scipy sqrtm, eps retry, imaginary check)."""
    diff = mu1 - mu2
    covmean, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        off = np.eye(s1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((s1 + off).dot(s2 + off))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("imaginary component")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def stats(f):
    return f.mean(axis=0), np.cov(f, rowvar=False)


def kid_subsets(fr, ff, subsets):
    """Unbiased MMD^2 with k(x,y) = (x.y/d + 1)^3 per subset (torch-fidelity/clean-fid form)."""
    d = fr.shape[1]
    vals = []
    for ir, i_f in subsets:
        x, y = ff[i_f], fr[ir]
        m = len(ir)
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        a = kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)
        vals.append(a / (m * (m - 1)) - 2 * kxy.sum() / (m * m))
    vals = np.array(vals)
    return vals, float(vals.mean()), float(vals.std())


def inception_score(logits, splits):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part) - np.log(py))).sum(axis=1).mean()
        scores.append(math.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def precision_recall(real, fake, k):
    def d(a, b):
        return np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0))
    rr, ff, fr = d(real, real), d(fake, fake), d(fake, real)
    r_rad = np.sort(rr, axis=1)[:, k]  # index 0 is the point itself
    f_rad = np.sort(ff, axis=1)[:, k]
    precision = float((fr <= r_rad[None, :]).any(axis=1).mean())
    recall = float((fr.T <= f_rad[None, :]).any(axis=1).mean())
    return precision, recall


def main():
    rng = np.random.default_rng(20261125)
    torch.manual_seed(0)
    torch.set_num_threads(2)

    # ------------------------------------------------------------ photos for SSIM / PSNR (and Inception inputs)
    photos = {
        "astronaut": skimage.data.astronaut()[40:136, 180:276],
        "coffee": skimage.data.coffee()[120:216, 200:296],
        "camera": skimage.data.camera()[80:176, 200:296],  # grayscale
    }
    ssim_rows = []
    for name, ref in photos.items():
        save_png(f"{name}.png", ref)
        f = ref.astype(np.float64)
        noisy = np.clip(np.rint(f + rng.normal(0, 12, f.shape)), 0, 255).astype(np.uint8)
        sig = (1.2, 1.2, 0) if ref.ndim == 3 else 1.2
        from scipy.ndimage import gaussian_filter
        blur = np.clip(np.rint(gaussian_filter(f, sig)), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(ref).save(buf, format="JPEG", quality=15)
        jpeg = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB" if ref.ndim == 3 else "L"))
        for kind, dist in (("noise", noisy), ("blur", blur), ("jpeg", jpeg)):
            fname = f"{name}_{kind}.png"
            save_png(fname, dist)
            ca = 2 if ref.ndim == 3 else None
            row = {
                "reference": f"{name}.png", "distorted": fname, "grayscale": ref.ndim == 2,
                "ssim_wang": float(structural_similarity(ref, dist, gaussian_weights=True, sigma=1.5,
                                                         use_sample_covariance=False, data_range=255,
                                                         channel_axis=ca)),
                "ssim_plain": float(structural_similarity(ref, dist, data_range=255, channel_axis=ca)),
                "psnr": float(peak_signal_noise_ratio(ref, dist, data_range=255)),
                # the same pair as floats in [0, 1]: the data range must follow the scale
                "ssim_wang_unit": float(structural_similarity(ref / 255.0, dist / 255.0, gaussian_weights=True,
                                                              sigma=1.5, use_sample_covariance=False,
                                                              data_range=1.0, channel_axis=ca)),
                "psnr_unit": float(peak_signal_noise_ratio(ref / 255.0, dist / 255.0, data_range=1.0)),
            }
            ssim_rows.append(row)
    EXPECTED["ssim_psnr"] = ssim_rows

    # ------------------------------------------------------------ Inception features with deterministic weights
    net, keys = fid_inception()
    EXPECTED["inception_keys"] = keys
    imgs = []
    for name in ("astronaut", "coffee"):
        imgs.append(np.asarray(Image.open(os.path.join(OUT, f"{name}.png")).convert("RGB")))
    imgs.append(np.asarray(Image.open(os.path.join(OUT, "astronaut_noise.png")).convert("RGB")))
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255.0
    with torch.no_grad():
        pool, logits = pool3_and_logits(net, x)
    EXPECTED["inception_images"] = ["astronaut.png", "coffee.png", "astronaut_noise.png"]
    EXPECTED["inception_pool_absmean"] = float(pool.abs().mean())
    save("inception_pool3.f32", pool.numpy(), np.float32)
    save("inception_logits.f32", logits.numpy(), np.float32)
    # the first few values of a few parameters, to pin the formula separately from the network
    EXPECTED["param_probe"] = {
        k: [float(v) for v in net.state_dict()[k].flatten()[:5]]
        for k in ("Conv2d_1a_3x3.conv.weight", "Mixed_7c.branch_pool.bn.running_var", "fc.bias")
    }

    # resize references on an odd-sized input
    small = np.asarray(Image.open(os.path.join(OUT, "coffee.png")).convert("RGB"))[:23, :37]
    t = torch.from_numpy(small).permute(2, 0, 1).float()[None] / 255.0
    save_png("resize_input.png", small)
    torch_resized = F.interpolate(t, size=(299, 299), mode="bilinear", align_corners=False)[0].numpy()
    save("resize_torch_bilinear.f32", torch_resized, np.float32)
    save("resize_tf1_legacy.f32", tf1_legacy_bilinear(small.transpose(2, 0, 1) / 255.0, 299, 299), np.float32)

    # ------------------------------------------------------------ Fréchet distance on fixed features
    d = 32
    base = rng.normal(size=(d, d))
    fa = rng.normal(size=(300, d)) @ base * 0.5
    fb = rng.normal(size=(300, d)) @ (base + 0.3 * rng.normal(size=(d, d))) * 0.5 + 0.2
    # near-singular: 24 samples in 32 dimensions gives a rank-23 covariance
    fc = rng.normal(size=(24, d)) @ base * 0.5 + 0.1
    # nearly collinear columns: a covariance with eigenvalues down at ~1e-12
    fdn = rng.normal(size=(300, d))
    fdn[:, 5] = fdn[:, 4] + 1e-6 * rng.normal(size=300)
    save("fid_a.f64", fa, np.float64)
    save("fid_b.f64", fb, np.float64)
    save("fid_c.f64", fc, np.float64)
    save("fid_d.f64", fdn, np.float64)
    (ma, sa), (mb, sb), (mc, sc), (md, sd) = stats(fa), stats(fb), stats(fc), stats(fdn)
    save("fid_a_mu.f64", ma, np.float64)
    save("fid_a_sigma.f64", sa, np.float64)
    EXPECTED["fid"] = {
        "a_b": frechet(ma, sa, mb, sb),
        "a_a": frechet(ma, sa, ma, sa),
        "a_c": frechet(ma, sa, mc, sc),
        "c_c": frechet(mc, sc, mc, sc),
        "b_d": frechet(mb, sb, md, sd),
        "c_d": frechet(mc, sc, md, sd),
    }

    # ------------------------------------------------------------ KID with fixed subsets
    kr = rng.normal(size=(150, 16)) + 0.05
    kf = rng.normal(size=(120, 16)) * 1.1
    m = 50
    subsets = [(rng.choice(150, m, replace=False), rng.choice(120, m, replace=False)) for _ in range(100)]
    save("kid_real.f64", kr, np.float64)
    save("kid_fake.f64", kf, np.float64)
    save("kid_subsets_real.i32", np.stack([s[0] for s in subsets]), np.int32)
    save("kid_subsets_fake.i32", np.stack([s[1] for s in subsets]), np.int32)
    vals, kmean, kstd = kid_subsets(kr, kf, subsets)
    _, kfull, _ = kid_subsets(kr[:120], kf, [(np.arange(120), np.arange(120))])
    EXPECTED["kid"] = {"subset_size": m, "mean": kmean, "std": kstd, "first": float(vals[0]), "whole_120": kfull}

    # ------------------------------------------------------------ Inception Score on fixed logits
    lg = (rng.normal(size=(200, 1008)) * 3.0).astype(np.float32).astype(np.float64)
    save("is_logits.f32", lg, np.float32)
    EXPECTED["is"] = {"splits10": inception_score(lg, 10), "splits3": inception_score(lg[:100], 3)}

    # ------------------------------------------------------------ precision / recall (k = 3)
    pr_r = rng.normal(size=(80, 8))
    pr_f = rng.normal(size=(60, 8)) * 1.3 + 0.4
    save("pr_real.f64", pr_r, np.float64)
    save("pr_fake.f64", pr_f, np.float64)
    EXPECTED["pr"] = dict(zip(("precision", "recall"), precision_recall(pr_r, pr_f, 3)))

    # ------------------------------------------------------------ a tiny ONNX segmenter for mIoU
    # 1x1 conv on [0,1] RGB: logits (R, G, B, 0.5) so the class is the dominant channel, or 3 when all are dim.
    conv = nn.Conv2d(3, 4, 1)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0] = conv.weight[1, 1] = conv.weight[2, 2] = 1.0
        conv.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.5]))
    conv.eval()
    dummy = torch.zeros(1, 3, 8, 8)
    dyn = {"input": {0: "n", 2: "h", 3: "w"}}
    torch.onnx.export(conv, dummy, os.path.join(OUT, "seg_logits.onnx"), input_names=["input"],
                      output_names=["logits"], dynamic_axes={**dyn, "logits": {0: "n", 2: "h", 3: "w"}},
                      opset_version=13)

    class ArgmaxSeg(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c = c

        def forward(self, x):
            return self.c(x).argmax(1)

    torch.onnx.export(ArgmaxSeg(conv), dummy, os.path.join(OUT, "seg_labels.onnx"), input_names=["input"],
                      output_names=["labels"], dynamic_axes={**dyn, "labels": {0: "n", 1: "h", 2: "w"}},
                      opset_version=13)

    EXPECTED["versions"] = {
        "python": ".".join(map(str, __import__("sys").version_info[:3])),
        "numpy": np.__version__, "scipy": scipy.__version__, "skimage": skimage.__version__,
        "torch": torch.__version__, "torchvision": torchvision.__version__,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        json.dump(EXPECTED, fh, indent=1)
    print(json.dumps({k: v for k, v in EXPECTED.items() if k not in ("shapes", "inception_keys")}, indent=1))


if __name__ == "__main__":
    main()
