"""Does the generated PyTorch module, trained by nnc's loop, run as fast as the same network
written by hand with a plain PyTorch loop?

    /usr/bin/python3 bench/torch-overhead.py [--device cpu|cuda] [--threads 2] [--rounds 3]
        [--models mnist,resnet] [--mnist-batch 256] [--resnet-batch 256] [--steps N]
        [--resnet-steps N] [--variants] [--epoch] [--build DIR] [--json] [--out FILE]

Two sides per model, in one process, on the same device, threads and batch:
- generated: the module `nnc build --target pytorch` writes (specs/mnist_cnn.nn, and the CIFAR
  ResNet-18 of bench/gpu/resnet18_cifar.nn), set up by nnc_torch's `Run` exactly as `nnc train
  --engine pytorch` sets it up (the recipe's data, nnc's Adam, its loss) and stepped by the loop
  of `Run.run`: the epoch's permutation, `Run.step` (the batch gathered, dropout's per-step seed,
  forward, TF.js's loss, backward, the divergence check's read-back, Adam) and the progress call.
- hand: bench/torch_speed.py's model of the same layers (logits + F.cross_entropy,
  nn.BatchNorm2d), torch.optim.Adam (lr 1e-3, eps 1e-7), and a plain loop over the same data
  (randperm, index, step, loss.item()).

Rounds alternate (generated first in even rounds, hand first in odd ones) after warm-up steps
on both; each side's samples/s is the median over the rounds, and the ratio is
median time(generated) / median time(hand) (target ≤ 1.03). --variants adds generated sides
with one cause of overhead removed each (see VARIANTS), to size the causes. --epoch times the
whole `python3 mnist_cnn.py --device D --epochs 1` (process wall time, and the epoch's own
`seconds` from its history). Progress on stderr, the table on stdout, --json one object.

Without --build it runs `node dist/nnc.mjs build … --target pytorch` into a temporary folder
(so build first: npm run build); bench/gpu/pack.sh packs a build folder for a machine without
Node, where bench/gpu/run.sh passes --build.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def log(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


# ── the build folder ─────────────────────────────────────────────────────────────────────────────

def build_here(models):
    """nnc build --target pytorch of the benchmark's specs into a temporary folder (needs Node and dist/)."""
    root = os.path.dirname(HERE)
    out = tempfile.mkdtemp(prefix="nnc-torch-overhead-")
    specs = {"mnist": os.path.join(root, "specs", "mnist_cnn.nn"), "resnet": os.path.join(HERE, "gpu", "resnet18_cifar.nn")}
    for m in models:
        subprocess.run(["node", os.path.join(root, "dist", "nnc.mjs"), "build", specs[m], "--target", "pytorch", "-o", out],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if "resnet" in models:
        subprocess.run([sys.executable, os.path.join(HERE, "gpu", "make_data.py"), out], check=True, stdout=subprocess.DEVNULL)
    return out


# ── the machine ──────────────────────────────────────────────────────────────────────────────────

def machine(torch, device):
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if device.type == "cuda" else None
    return {"cpu": cpu, "cores": cores, "gpu": gpu, "torch": torch.__version__, "python": platform.python_version(),
            "cuda": torch.version.cuda if device.type == "cuda" else None, "threads": torch.get_num_threads()}


def cpu_times():
    """(steal, total) jiffies from /proc/stat: the share of CPU time the hypervisor gave to others."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[7] if len(v) > 7 else 0, sum(v[:8])
    except (OSError, ValueError):
        return 0, 0


def load():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


# ── the sides ────────────────────────────────────────────────────────────────────────────────────

class Generated:
    """The generated module set up by nnc_torch.train's Run and stepped as Run.run steps it."""

    def __init__(self, torch, module, model_class, batch, device, build, tweaks=()):
        import nnc_torch
        from nnc_torch.random import permutation
        from nnc_torch.train import Run
        self.torch, self.permutation = torch, permutation
        recipe = dict(module.RECIPE, batch=batch, epochs=1000, earlyStop=None)
        # A seed other than the recipe's: the module's own initialisers, so that a pack needs no initial weights.bin.
        self.run = Run(model_class, recipe, module.INFO, module.WEIGHTS, out=tempfile.mkdtemp(prefix="nnc-overhead-run-"), seed=7,
                       device=device.type, base_dir=build, initial=os.path.join(build, module.__name__ + ".initial"),
                       mnist=os.path.join(build, "mnist.npz"), log=lambda line: None)
        self.run.set_up()
        for t in tweaks:
            TWEAKS[t](self.run, nnc_torch, torch)
        self.n = self.run.train_split["n"]
        self.batch = batch
        self.batches = self.n // batch  # whole batches only, so every step has `batch` samples
        self.order, self.b, self.epoch = None, self.batches, 0

    def steps(self, k):
        run = self.run
        for _ in range(k):
            if self.b >= self.batches:  # Run.run's epoch start: the learning rate, the permutation
                self.order, self.b = self.permutation(self.n, run.rng), 0
                run.optimizer.learning_rate = run.config["lr"]
                self.loss_sum = self.acc_sum = 0.0
                self.seen = 0
                self.epoch += 1
            idx = self.order[self.b * self.batch:(self.b + 1) * self.batch]
            loss, acc, size = run.step(self.epoch, self.b + 1, idx)
            self.loss_sum += loss * size
            self.acc_sum += acc * size
            self.seen += size
            run.progress.batch(self.epoch, self.b + 1, self.batches, self.loss_sum / self.seen, self.acc_sum / self.seen)
            self.b += 1


class Hand:
    """bench/torch_speed.py's model, torch.optim.Adam and a plain loop over the same data (channels first)."""

    def __init__(self, torch, build_fn, x, y, batch, device):
        import torch.nn.functional as F
        self.torch, self.F = torch, F
        torch.manual_seed(0)
        self.model = build_fn().to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)
        self.x, self.y, self.batch, self.device = x, y, batch, device
        self.n = x.shape[0]
        self.batches = self.n // batch
        self.b, self.order = self.batches, None

    def steps(self, k):
        torch, F = self.torch, self.F
        self.model.train()
        for _ in range(k):
            if self.b >= self.batches:
                self.order, self.b = torch.randperm(self.n, device=self.device), 0
            idx = self.order[self.b * self.batch:(self.b + 1) * self.batch]
            self.opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(self.model(self.x[idx]), self.y[idx])
            loss.backward()
            self.opt.step()
            loss.item()
            self.b += 1


# ── the causes, one at a time (--variants) ───────────────────────────────────────────────────────

def tweak_adam(run, nnc, torch):
    """nnc's Adam with torch._foreach_* ops, in place: the same formula, operation for operation
    (m·β1 + g·(1−β1); v·β2 + g²·(1−β2); (m/(1−β1^t))·lr / (√(v/(1−β2^t)) + ε); w − that), but a
    few multi-tensor kernels per step instead of ~12 allocating ops per parameter in a Python loop."""
    opt = run.optimizer
    assert opt.name == "adam", opt.name

    @torch.no_grad()
    def step(closure=None):
        t = opt.iterations + 1
        for group in opt.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            if not ps:
                continue
            gs = [p.grad for p in ps]
            for p in ps:
                st = opt.state[p]
                if "m" not in st:
                    st["m"] = torch.zeros_like(p)
                    st["v"] = torch.zeros_like(p)
            ms = [opt.state[p]["m"] for p in ps]
            vs = [opt.state[p]["v"] for p in ps]
            b1, b2, eps, lr = group["beta1"], group["beta2"], group["epsilon"], group["lr"]
            torch._foreach_mul_(ms, b1)
            torch._foreach_add_(ms, torch._foreach_mul(gs, 1 - b1))
            torch._foreach_mul_(vs, b2)
            torch._foreach_add_(vs, torch._foreach_mul(torch._foreach_mul(gs, gs), 1 - b2))
            m_hat = torch._foreach_div(ms, 1 - b1 ** t)
            v_hat = torch._foreach_div(vs, 1 - b2 ** t)
            torch._foreach_sqrt_(v_hat)
            torch._foreach_add_(v_hat, eps)
            torch._foreach_mul_(m_hat, lr)
            torch._foreach_div_(m_hat, v_hat)
            torch._foreach_sub_(ps, m_hat)
        opt.iterations = t

    opt.step = step


def fast_batchnorm_forward(self, x):
    """nnc.BatchNorm through F.batch_norm: one fused kernel each way, normalising by the biased
    batch variance as Keras does. F.batch_norm would move running_var by the unbiased variance,
    so it updates zeroed scratch buffers with momentum 1 (which leaves exactly the batch's mean
    and unbiased variance in them) and Keras's update is done here with the biased one."""
    import torch
    import torch.nn.functional as F
    if self.training:
        mean = torch.zeros_like(self.running_mean)
        var = torch.zeros_like(self.running_var)
        y = F.batch_norm(x, mean, var, self.weight, self.bias, True, 1.0, self.epsilon)
        with torch.no_grad():
            n = x.numel() // x.shape[1]
            var = var * ((n - 1) / n) if n > 1 else torch.zeros_like(var)
            decay = 1.0 - self.momentum
            self.running_mean.sub_((self.running_mean - mean) * decay)
            self.running_var.sub_((self.running_var - var) * decay)
        return y
    return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.epsilon)


def tweak_batchnorm(run, nnc, torch):
    import types
    for m in run.module.modules():
        if isinstance(m, nnc.BatchNorm):
            m.forward = types.MethodType(fast_batchnorm_forward, m)


TWEAKS = {"adam": tweak_adam, "batchnorm": tweak_batchnorm}
# name: (tweaks, what it removes)
VARIANTS = {
    "gen+foreach-adam": (("adam",), "nnc's Adam as torch._foreach_* ops"),
    "gen+fused-bn": (("batchnorm",), "nnc.BatchNorm via F.batch_norm"),
    "gen+both": (("adam", "batchnorm"), "both"),
}


# ── equivalence of the tweaks (they must compute what nnc's code computes) ─────────────────────

def check_tweaks(torch, nnc):
    from nnc_torch.optimizers import create_optimizer
    out = {}
    g = torch.Generator().manual_seed(1)
    ws = [torch.randn(s, generator=g) for s in ((64, 3, 3, 3), (1000,), (300, 40))]
    a = [w.clone().requires_grad_() for w in ws]
    b = [w.clone().requires_grad_() for w in ws]
    oa = create_optimizer({"name": "adam", "args": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7}}, [(str(i), p) for i, p in enumerate(a)], 1e-3)
    ob = create_optimizer({"name": "adam", "args": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7}}, [(str(i), p) for i, p in enumerate(b)], 1e-3)

    class R:
        optimizer = ob
    tweak_adam(R, nnc, torch)
    for _ in range(20):
        grads = [torch.randn(w.shape, generator=g) for w in ws]
        for p, q, gr in zip(a, b, grads):
            p.grad, q.grad = gr.clone(), gr.clone()
        oa.step()
        R.optimizer.step()
    out["adam_max_abs_diff_20_steps"] = max(float((p - q).abs().max()) for p, q in zip(a, b))
    bn1 = nnc.BatchNorm(16)
    bn2 = nnc.BatchNorm(16)
    with torch.no_grad():
        bn1.weight.uniform_(0.5, 1.5, generator=g)
        bn1.bias.uniform_(-0.5, 0.5, generator=g)
    bn2.load_state_dict(bn1.state_dict())
    import types
    bn2.forward = types.MethodType(fast_batchnorm_forward, bn2)
    x = (torch.randn(32, 16, 8, 8, generator=g) * 3 + 1)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    up = torch.randn(32, 16, 8, 8, generator=g)
    y1, y2 = bn1(x1), bn2(x2)
    (y1 * up).sum().backward()
    (y2 * up).sum().backward()
    out["bn_out_max_abs_diff"] = float((y1 - y2).abs().max())
    out["bn_grad_x_max_abs_diff"] = float((x1.grad - x2.grad).abs().max())
    out["bn_grad_gamma_max_rel_diff"] = float(((bn1.weight.grad - bn2.weight.grad).abs() / bn1.weight.grad.abs().clamp(min=1e-6)).max())
    out["bn_running_max_abs_diff"] = max(float((bn1.running_mean - bn2.running_mean).abs().max()), float((bn1.running_var - bn2.running_var).abs().max()))
    bn1.eval()
    bn2.eval()
    out["bn_eval_out_max_abs_diff"] = float((bn1(x) - bn2(x)).abs().max())
    return out


# ── main ─────────────────────────────────────────────────────────────────────────────────────────

def sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(torch, device, side, k):
    sync(torch, device)
    t0 = time.perf_counter()
    side.steps(k)
    sync(torch, device)
    return time.perf_counter() - t0


def compare(torch, device, label, sides, batch, steps, warmup, rounds):
    times = {name: [] for name in sides}
    names = list(sides)
    for name in names:
        sides[name].steps(warmup)
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(timed(torch, device, sides[name], steps))
        log("  %s round %d/%d: %s (load %.2f)" % (label, r + 1, rounds, ", ".join("%s %.0f/s" % (n, steps * batch / times[n][-1]) for n in names), load()))
    med = {n: statistics.median(t) for n, t in times.items()}
    return {"model": label, "batch": batch, "steps": steps, "rounds": rounds,
            "samples_per_s": {n: steps * batch / med[n] for n in names},
            "ratio": {n: med[n] / med["hand"] for n in names if n != "hand"},
            "ratio_by_round": {n: [a / b for a, b in zip(times[n], times["hand"])] for n in names if n != "hand"},
            "seconds": times}


def epoch_time(build, device):
    """`python3 mnist_cnn.py --device D --epochs 1`: the process's wall time and the epoch's `seconds`."""
    out = tempfile.mkdtemp(prefix="nnc-epoch-")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "mnist_cnn.py", "--device", device.type, "--epochs", "1", "--out", out, "--log-json"],
                       cwd=build, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("mnist_cnn.py failed: %s" % p.stderr[-2000:])
    with open(os.path.join(out, "history.json")) as f:
        h = json.load(f)
    shutil.rmtree(out, ignore_errors=True)
    e = h["epochs"][0]
    return {"command": "python3 mnist_cnn.py --device %s --epochs 1" % device.type, "wall_s": wall, "epoch_seconds": e["seconds"],
            "samples": 8000, "test_acc": (h.get("test") or {}).get("acc"), "val_acc": e.get("val_acc")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default="mnist,resnet")
    ap.add_argument("--mnist-batch", type=int, default=256)
    ap.add_argument("--resnet-batch", type=int, default=None, help="default 256 on cuda, 32 on cpu")
    ap.add_argument("--steps", type=int, default=None, help="MNIST CNN steps per side per round (default 20 on cpu, 30 on cuda)")
    ap.add_argument("--resnet-steps", type=int, default=None, help="ResNet-18 steps per side per round (default 4 on cpu, 20 on cuda)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up steps per side (default 2 on cpu, 5 on cuda)")
    ap.add_argument("--variants", action="store_true", help="also generated sides with one cause of overhead removed each")
    ap.add_argument("--epoch", action="store_true", help="also time python3 mnist_cnn.py --epochs 1")
    ap.add_argument("--build", help="a folder nnc build --target pytorch wrote (with mnist.npz, cifar_synth.npz)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", help="write the JSON results to this file too")
    a = ap.parse_args()
    models = [m for m in a.models.split(",") if m]
    cuda = a.device == "cuda"
    steps = a.steps or (30 if cuda else 20)
    rsteps = a.resnet_steps or (20 if cuda else 4)
    warmup = a.warmup if a.warmup is not None else (5 if cuda else 2)
    rbatch = a.resnet_batch or (256 if cuda else 32)
    load_start = load()
    steal_start = cpu_times()
    build = os.path.abspath(a.build) if a.build else build_here(models)
    sys.path.insert(0, build)
    sys.path.insert(0, HERE)
    import torch
    import nnc_torch
    import torch_speed
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    if cuda:
        torch.backends.cudnn.benchmark = False  # nnc's loop leaves it at the default; so does the hand loop
    mach = machine(torch, device)
    log("machine: %s, %d cores, torch %s%s, %d threads, load %.2f" % (mach["cpu"], mach["cores"], mach["torch"],
                                                                     ", " + mach["gpu"] if mach["gpu"] else "", mach["threads"], load_start))
    equivalence = check_tweaks(torch, nnc_torch) if a.variants else None
    results = []
    for m in models:
        if m == "mnist":
            import mnist_cnn as mod
            cls, hand_fn, batch, k, label = mod.MnistCnn, torch_speed.mnist_cnn_spec, a.mnist_batch, steps, "MNIST CNN"
        else:
            import resnet18_cifar as mod
            cls, hand_fn, batch, k, label = mod.Resnet18Cifar, torch_speed.resnet18_cifar, rbatch, rsteps, "CIFAR ResNet-18"
        sides = {"generated": Generated(torch, mod, cls, batch, device, build)}
        # the hand loop trains on the generated run's own training split, channels first, labels as class ids
        split = sides["generated"].run.train_split
        x = split["x"].permute(0, 3, 1, 2).contiguous()
        y = split["y"].argmax(dim=1)
        sides["hand"] = Hand(torch, hand_fn, x, y, batch, device)
        if a.variants:
            for name, (tweaks, _) in VARIANTS.items():
                if m == "mnist" and "batchnorm" in tweaks:
                    continue  # no batchnorm in the MNIST CNN
                sides[name] = Generated(torch, mod, cls, batch, device, build, tweaks)
        log("%s, batch %d on %s: %d warm-up + %d x %d timed steps per side" % (label, batch, device.type, warmup, a.rounds, k))
        results.append(compare(torch, device, label, sides, batch, k, warmup, a.rounds))
        del sides
    epoch = None
    if a.epoch and "mnist" in models:
        log("one MNIST epoch: python3 mnist_cnn.py --device %s --epochs 1 …" % device.type)
        epoch = epoch_time(build, device)
    load_end = load()
    steal_end = cpu_times()
    steal = (steal_end[0] - steal_start[0]) / max(1, steal_end[1] - steal_start[1])
    out = {"machine": mach, "device": a.device, "load": {"start": load_start, "end": load_end, "steal": steal}, "argv": sys.argv[1:],
           "results": results, "epoch": epoch, "equivalence": equivalence, "build": build}
    where = mach["gpu"] or "%s, %d cores" % (mach["cpu"], mach["cores"])
    print("torch-overhead on %s — %s, torch %s, %d threads, %d alternating rounds, median; load %.2f → %.2f, CPU steal %.0f%%"
          % (a.device, where, mach["torch"], mach["threads"], a.rounds, load_start, load_end, steal * 100))
    print("%-18s %6s %-18s %12s %10s  %s" % ("model", "batch", "side", "samples/s", "time ratio", "ratio by round"))
    for r in results:
        for n, v in r["samples_per_s"].items():
            ratio = r["ratio"].get(n)
            mark = "" if ratio is None else ("  ✓ ≤ 1.03" if ratio <= 1.03 else "  ✗ > 1.03") if n == "generated" else ""
            rr = " ".join("%.3f" % x for x in r["ratio_by_round"].get(n, []))
            print("%-18s %6d %-18s %12.1f %10s  %s%s" % (r["model"], r["batch"], n, v, "%.3f" % ratio if ratio else "(1)", rr, mark))
    if equivalence:
        print("tweaks vs nnc's code: " + ", ".join("%s %.2g" % kv for kv in equivalence.items()))
    if epoch:
        print("one MNIST epoch (8,000 digits, batch 64, then validation): %.2f s of training (history's seconds), %.2f s for the whole command `%s`"
              % (epoch["epoch_seconds"], epoch["wall_s"], epoch["command"]))
    if a.json:
        print(json.dumps(out))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)
    if not a.build:
        shutil.rmtree(build, ignore_errors=True)


if __name__ == "__main__":
    main()
