"""Build the Fashion-MNIST sample embedded in the package (zoo/data/fashion_mnist_sample/).

10,000 images of the official *training* split, 1,000 per class, chosen with a fixed seed and
stored as IDX files: 8,000 as `train-*`, 2,000 as `t10k-*`. Taking both from the training split
keeps the official test set untouched for models trained on the sample.

Source: Debian's `dataset-fashion-mnist` package (apt-get install dataset-fashion-mnist).
Licence: Fashion-MNIST is (c) Zalando SE, MIT licence; the LICENSE file is copied beside it.

    python scripts/make_fashion_mnist_sample.py [--source /usr/share/datasets/fashion-mnist]
"""

import argparse
from pathlib import Path

import numpy as np

from zoo.data.idx import find_idx_split, read_idx, write_idx
from zoo.data.sources import DEBIAN_FASHION_MNIST, SAMPLE_DIR

LICENSE = """The MIT License (MIT) Copyright © [2017] Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

Fashion-MNIST: https://github.com/zalandoresearch/fashion-mnist
Sample taken from Debian's dataset-fashion-mnist package by scripts/make_fashion_mnist_sample.py.
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEBIAN_FASHION_MNIST)
    parser.add_argument("--out", type=Path, default=SAMPLE_DIR)
    args = parser.parse_args()
    images, labels = (read_idx(p) for p in find_idx_split(args.source, "train"))
    rng = np.random.default_rng(2017)
    train_idx, test_idx = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))[:1000]
        train_idx += list(idx[:800])
        test_idx += list(idx[800:])
    train_idx, test_idx = rng.permutation(train_idx), rng.permutation(test_idx)
    for split, idx in (("train", train_idx), ("t10k", test_idx)):
        write_idx(args.out / f"{split}-images-idx3-ubyte.gz", images[idx])
        write_idx(args.out / f"{split}-labels-idx1-ubyte.gz", labels[idx])
    (args.out / "LICENSE").write_text(LICENSE)
    print(f"wrote {len(train_idx)} train + {len(test_idx)} test images to {args.out}")


if __name__ == "__main__":
    main()
