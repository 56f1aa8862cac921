"""PyTorch reference for bench/train-speed.ts: the same two models, batch sizes, optimizer
(Adam, lr 1e-3, eps 1e-7) and random data as the TensorFlow.js runs, timed the same way
(warm-up steps, then timed steps; a training step is forward, loss, backward, update and
the loss read back as a Python float). Prints one JSON object on stdout.

    /usr/bin/python3 bench/torch_speed.py --threads 2 --steps 10 --cnn-batch 64 [--device cuda]

Debian's python3-torch installs for /usr/bin/python3 (not for a pyenv python). It uses
whichever libblas.so.3 Debian's alternatives point at: the reference BLAS unless an optimised
one is installed (`apt-get install libopenblas0-pthread`), which makes PyTorch's dense layers
about 5x faster; the library in use is reported as "blas".
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def mnist_cnn():
    # Keras "same" padding for a 5x5 kernel at stride 1 is 2 on every side.
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Linear(1024, 10),
    )


def mnist_cnn_spec():
    """specs/mnist_cnn.nn as a PyTorch user writes it: mnist_cnn() plus the spec's dropout 0.5
    (logits out; the softmax is in F.cross_entropy). For bench/torch-overhead.py."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Dropout(0.5), nn.Linear(1024, 10),
    )


class BasicBlock(nn.Module):
    """ResNet's basic block (torchvision's): two 3x3 convs without bias, each with batchnorm; a
    1x1 conv + batchnorm on the skip path where the size or the width changes."""

    def __init__(self, cin, c, stride, bn):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False)
        self.bn1 = bn(c)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = bn(c)
        self.skip = None
        if stride != 1 or cin != c:
            self.skip = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False), bn(c))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.skip is None else self.skip(x)))


def resnet18_cifar(classes=10):
    """bench/gpu/resnet18_cifar.nn by hand: the CIFAR ResNet-18 (3x3 stride-1 stem, no max pool;
    stages of 64, 128, 256, 512 channels at 32, 16, 8, 4 pixels), 11,173,962 parameters, with
    nn.BatchNorm2d set to Keras's defaults as the spec's `batchnorm` (momentum 0.99 in Keras's
    sense, ε 1e-3). Logits out. For bench/torch-overhead.py."""
    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)
    layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), bn(64), nn.ReLU()]
    cin = 64
    for c, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, c, stride, bn), BasicBlock(c, c, 1, bn)]
        cin = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def block_mlp():
    layers = []
    width = 10
    for _ in range(5):
        layers += [nn.Linear(width, 100), nn.Tanh()]
        width = 100
    layers += [nn.Linear(100, 1)]
    return nn.Sequential(*layers)


def blas_in_use():
    """The BLAS library this process loaded (torch links libblas.so.3 dynamically on Debian)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line or "mkl" in line}
        libs = sorted("/".join(p.split("/")[-2:]) for p in paths if p.startswith("/") and "lapack" not in p)
        return ", ".join(libs) or "linked into torch"
    except OSError:
        return "unknown"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(name, build, x_shape, targets, loss_fn, batch, warmup, steps, device):
    torch.manual_seed(0)
    model = build().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x = torch.rand((batch, *x_shape), device=device)
    y = targets(batch).to(device)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    def infer_step():
        with torch.no_grad():
            p = model(x)
            return p.sum().item()

    model.train()
    for _ in range(warmup):
        train_step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step()
    sync(device)
    train = steps * batch / (time.perf_counter() - t0)
    model.eval()
    for _ in range(warmup):
        infer_step()
    t0 = time.perf_counter()
    for _ in range(steps):
        infer_step()
    sync(device)
    infer = steps * batch / (time.perf_counter() - t0)
    return {"train": train, "infer": infer, "trainBatch": batch}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--cnn-batch", type=int, default=64)
    ap.add_argument("--mlp-batch", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
        "blas": blas_in_use(),
        "results": {
            "BLOCK MLP": measure(
                "BLOCK MLP", block_mlp, (10,),
                lambda n: (torch.rand((n, 1)) > 0.5).float(),
                lambda p, y: F.binary_cross_entropy_with_logits(p, y),
                a.mlp_batch, 3 * 20, 20 * a.steps, device),
            "MNIST CNN": measure(
                "MNIST CNN", mnist_cnn, (1, 28, 28),
                lambda n: torch.randint(0, 10, (n,)),
                lambda p, y: F.cross_entropy(p, y),
                a.cnn_batch, 3, a.steps, device),
        },
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
