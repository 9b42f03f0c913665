"""Reference outputs from Pillow (9.4, Debian's /usr/bin/python3) for the data tests.

Run from this folder: /usr/bin/python3 make_fixtures.py
Writes small PNGs and .npy files; the C# tests compare GanSharp's decoder and resamplers against them.
"""
import numpy as np
from PIL import Image

rng = np.random.default_rng(7)

# Photo resampling: a random RGB image and Pillow's BICUBIC / NEAREST resizes of it.
src = rng.integers(0, 256, size=(9, 13, 3), dtype=np.uint8)
Image.fromarray(src, "RGB").save("resample_src.png")
for (w, h) in [(7, 5), (20, 14), (11, 9), (5, 16)]:
    Image.fromarray(src, "RGB").resize((w, h), Image.BICUBIC).save(f"bicubic_{w}x{h}.png")

lab = rng.integers(0, 20, size=(9, 13), dtype=np.uint8)
Image.fromarray(lab, "L").save("nearest_src.png")
for (w, h) in [(7, 5), (20, 14), (11, 9), (5, 16)]:
    np.save(f"nearest_{w}x{h}.npy", np.array(Image.fromarray(lab, "L").resize((w, h), Image.NEAREST)).astype(np.int32))

# Label files as Pillow writes them, and the values Pillow reads back (palette indices, 16-bit values).
pal = rng.integers(0, 12, size=(6, 10), dtype=np.uint8)
p = Image.fromarray(pal, "P")
p.putpalette(list(rng.integers(0, 256, size=12 * 3, dtype=np.uint8)))
p.save("palette8.png")
p.save("palette4.png", bits=4)
np.save("palette_values.npy", np.array(Image.open("palette8.png")).astype(np.int32))
assert (np.array(Image.open("palette4.png")) == pal).all()

g16 = rng.integers(0, 65536, size=(5, 7)).astype(np.uint16)
Image.fromarray(g16, "I;16").save("gray16.png")
np.save("gray16_values.npy", np.array(Image.open("gray16.png")).astype(np.int32))

# A 1-bit image (Pillow mode "1"): our reader gives raw samples 0/1 where Pillow gives 0/255.
b = rng.integers(0, 2, size=(5, 11)).astype(bool)
Image.fromarray(b).save("gray1.png")
np.save("gray1_values.npy", b.astype(np.int32))
