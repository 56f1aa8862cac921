"""Writes cifar_synth.npz, the data of bench/gpu/resnet18_cifar.nn: CIFAR-10's shapes and types
(x_train uint8 N x 32 x 32 x 3, y_train uint8 class ids 0-9, x_test/y_test), random pixels from
a fixed seed. The benchmarks time training steps, so the values do not matter; no network is
needed to make it.

    python3 bench/gpu/make_data.py OUT_DIR [--train 5120] [--test 512]
"""
import argparse
import os

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=5120)
    ap.add_argument("--test", type=int, default=512)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    path = os.path.join(a.out, "cifar_synth.npz")
    np.savez(path,
             x_train=rng.integers(0, 256, (a.train, 32, 32, 3), dtype=np.uint8),
             y_train=rng.integers(0, 10, (a.train,), dtype=np.uint8),
             x_test=rng.integers(0, 256, (a.test, 32, 32, 3), dtype=np.uint8),
             y_test=rng.integers(0, 10, (a.test,), dtype=np.uint8))
    print("wrote %s (%d training and %d test images, 32x32x3)" % (path, a.train, a.test))


if __name__ == "__main__":
    main()
