"""The PyTorch engine's training loop: `nnc_torch.train(Model, RECIPE, INFO, WEIGHTS, …)`, which a
generated module's `train()` and `__main__` call. It mirrors src/runtime/train.ts step for step, so
that both engines train the same batches in the same order with the same losses, and write the
same run folder (model.json + weights.bin in the TF.js layers format, history.json,
normalizer.json, data.json, nnc-run.json, best/, checkpoint/).

The loop is split into the phases the TS loop has (setUp, step, endOfEpoch, evaluate,
checkpoint), as methods of `Run`:

  set_up        the seed (and its log line), the checkpoint to resume, the output folder's check,
                the process group (distributed.py), the model (the `.initial/` weights when the
                seed is the recipe's), the data: loaded, split (validation by the seeded stream),
                the normaliser fitted on the training split; the optimizer; a checkpoint's state
  step          one global batch: augmentation (from the shared stream), the forward pass, the
                loss with TF.js's formula (losses.py) + the layers' regularisation + L2 weight
                decay λ/2·Σ‖W‖², the backward pass (DDP averages the gradients), the divergence
                check before the update (naming the layer), clipping, the optimizer's update
  end_of_epoch  the epoch's record: validation, progress, early stopping, then `checkpoint`
  evaluate      the mean loss and accuracy on a split (inference mode), summed over the ranks
  checkpoint    best/ by the checkpoint metric, then checkpoint/ (checkpoint.py), rank 0 only
  finish        early stopping's best weights, the test split once, the run folder's files

Randomness: one SeededRandom stream (seed ^ 0x9e3779b9, as TS) draws the validation split, each
epoch's permutation and the augmentation, in the TS order. Dropout draws from torch's generator,
reseeded at every step from (seed, step, rank) as TS's DropoutSeeds does, so a resumed run
draws the same masks; the stream's state and the step count are in the checkpoint.
"""
import argparse
import inspect
import math
import os
import random as _py_random
import signal
import sys
import time

import numpy as np
import torch

from . import distributed, tfjs_format
from .checkpoint import CheckpointError, locate_checkpoint, read_checkpoint, topology_hash, write_best, write_checkpoint
from .clip import clip_gradients_
from .data.augment import augment_batch
from .data.common import DataError
from .data.normalize import fit_normalizer, normalize
from .data.sources import load_data
from .data.split import data_facts, split_data, target_mode
from .files import (BEST_DIR, CHECKPOINT_DIR, DATA_JSON, HISTORY_JSON, NORMALIZER_JSON, RunFolderError, check_run_folder,
                    mark_run_folder, path_text, remove_stale_temporaries, write_json_atomic)
from .losses import accuracy, loss_function
from .optimizers import create_optimizer
from .progress import Progress
from .random import SeededRandom, permutation, split_seed
from .schedules import learning_rate_at

ENGINE = "pytorch"


class TrainError(Exception):
    """A training run that cannot go on: a message for the user, no traceback."""


# ── small helpers ──────────────────────────────────────────────────────────────────────────────

def _imul(a, b):
    """JavaScript's Math.imul, as an unsigned 32-bit result."""
    return (a * b) & 0xFFFFFFFF


def dropout_seed(base, iteration, rank=0):
    """The seed of torch's generator for one step (TS DropoutSeeds' mixing, with the rank as the layer's place)."""
    h = _imul(((base & 0xFFFFFFFF) ^ 0x9E3779B9), 0x85EBCA6B)
    h = _imul(h ^ (h >> 13) ^ (iteration & 0xFFFFFFFF), 0xC2B2AE35)
    h = _imul(h ^ (h >> 16) ^ (rank + 1), 0x27D4EB2F)
    return (h ^ (h >> 15)) & 0xFFFFFFFF


def number_text(x):
    """A number for a message: 10, 0.001, 3.1e38, NaN, infinity (train.ts numberText)."""
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "infinity" if x > 0 else "-infinity"
    a = abs(x)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        m, e = ("%.1e" % x).split("e")
        return "%se%d" % (m, int(e))
    v = float("%.3g" % x)
    return str(int(v)) if v.is_integer() else repr(v)


def _metric(record, metric):
    return record.get(metric)


def _better(metric, a, b):
    if b is None:
        return True
    return a > b if metric.endswith("acc") else a < b


def _size(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _module_file(model_class):
    mod = sys.modules.get(getattr(model_class, "__module__", ""), None)
    return getattr(mod, "__file__", None)


# ── the run ────────────────────────────────────────────────────────────────────────────────────

class Run:
    def __init__(self, model_class, recipe, info, weights, out=None, epochs=None, seed=None, device="auto", log_json=False,
                 resume=None, max_batches=None, base_dir=".", initial=None, mnist=None, force=False, log=None):
        self.model_class = model_class
        self.config = recipe
        self.info = info or {}
        self.weights = list(weights)
        self.options = dict(out=out, epochs=epochs, seed=seed, log_json=log_json, resume=resume, max_batches=max_batches,
                            base_dir=base_dir, initial=initial, mnist=mnist, force=force)
        self.world = distributed.world_from_env()
        self._log = log
        self.device_name = device

    # messages: rank 0 only, stderr unless `log` is given
    def log(self, line):
        if not self.world.main:
            return
        if self._log is not None:
            self._log(line)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    # ── set_up ─────────────────────────────────────────────────────────────────────────────────
    def set_up(self):
        config, o = self.config, self.options
        self.checkpoint_read = self._open_checkpoint(o["resume"]) if o["resume"] is not None else None
        ck = self.checkpoint_read
        seed = o["seed"] if o["seed"] is not None else config.get("seed")
        chosen = seed is None and ck is None
        if seed is None:
            seed = _py_random.randrange(2 ** 31)
        if ck is not None:
            if o["seed"] is not None and o["seed"] != ck.state["seed"]:
                self.log("warning: --seed %d is ignored: a resumed run goes on with the checkpoint's seed %d." % (o["seed"], ck.state["seed"]))
            seed = ck.state["seed"]
        self.seed = int(seed)
        self.epochs = int(o["epochs"] if o["epochs"] is not None else config["epochs"])
        if self.epochs < 1:
            raise TrainError("--epochs must be at least 1, not %d." % self.epochs)
        self.out_dir = os.path.abspath(o["out"] or (ck.run_dir if ck else os.path.join("runs", config["model"])))
        try:
            check_run_folder(self.out_dir, force=o["force"], resumed_run=ck.run_dir if ck else None)
        except RunFolderError as e:
            raise TrainError(str(e)) from None

        # devices and processes
        if self.device_name == "auto":
            self.device_name = "cuda" if torch.cuda.is_available() else "cpu"
        if self.device_name not in ("cpu", "cuda"):
            raise TrainError("--device must be cpu or cuda, not %r." % self.device_name)
        if self.device_name == "cuda" and not torch.cuda.is_available():
            raise TrainError("--device cuda: this PyTorch (%s) sees no CUDA device. Train with --device cpu." % torch.__version__)
        refusal = distributed.check_batch(self.world, int(config["batch"]))
        if refusal:
            raise TrainError(refusal)
        self.device = distributed.join(self.world, torch.device(self.device_name))
        if self.world.active:
            self.seed = self.world.broadcast(self.seed)  # a seed chosen at random: rank 0's on every rank
        where = "%s, %d processes" % (self.device.type, self.world.size) if self.world.size > 1 else self.device.type
        self.log("engine: pytorch %s on %s" % (torch.__version__, where))
        self.log("seed %d%s" % (self.seed, " (chosen at random; add `seed %d` to the recipe to repeat this run)" % self.seed if chosen
                                else " (the checkpoint's)" if ck else ""))

        # the model
        torch.manual_seed(self.seed)
        try:
            takes_seed = "seed" in inspect.signature(self.model_class).parameters
        except (TypeError, ValueError):
            takes_seed = True
        self.module = self.model_class(seed=self.seed) if takes_seed else self.model_class()
        self.module.to(torch.float32)
        module_file = _module_file(self.model_class)
        here = os.path.dirname(os.path.abspath(module_file)) if module_file else os.getcwd()
        stem = os.path.splitext(os.path.basename(module_file))[0] if module_file else config["model"]
        initial = o["initial"] if o["initial"] is not None else os.path.join(here, stem + ".initial")
        self.topology_folder = initial if os.path.isfile(os.path.join(initial, "model.json")) else None
        if self.topology_folder is None:
            raise TrainError(
                "There is no %s: the PyTorch engine writes the trained model in the TF.js layers format on the topology nnc build "
                "writes there. Build the module again with `nnc build … --target pytorch`, or pass --initial FOLDER." % path_text(os.path.join(initial, "model.json")))
        try:
            self.topology = tfjs_format.read_topology(self.topology_folder)
            if ck is None and config.get("seed") is not None and self.seed == config.get("seed"):
                tfjs_format.load_weights(self.module, self.weights, self.topology_folder)
                self.log("initial weights: %s (the recipe's seed, as the TF.js engine starts)" % path_text(self.topology_folder))
        except tfjs_format.WeightsError as e:
            raise TrainError(str(e)) from None
        self.topology_sha = topology_hash(self.topology.get("modelTopology", self.topology))
        self.module.to(self.device)
        self.owners = {}
        for tf_name, path, _ in self.weights:
            layer, _, weight = tf_name.rpartition("/")
            self.owners[path] = (layer or tf_name, weight or tf_name)
        if ck is not None:
            self._check_resumable(ck)
            self.module.load_state_dict(ck.torch["model"])
        elif config.get("pretrained"):
            self._pretrained(config["pretrained"])

        # the data
        self.input_shape = list(self.info.get("inputShape") or self.model_class.input_shape)
        self.output_shape = list(self.info.get("outputShape") or self.model_class.output_shape)
        self.units = self.output_shape[-1] if self.output_shape else 1
        loss = config["loss"]
        self.regression = loss in ("mse", "mae")
        self.outputs = _size(self.output_shape)
        self.reconstruct = config["data"].get("target") == "input"
        self._load()
        self.rng = SeededRandom(split_seed(self.seed))
        self._split()

        # the optimizer, weight decay, the loop's state
        self.loss_fn = loss_function(loss)
        self.named = [(n, p) for n, p in self.module.named_parameters() if p.requires_grad]
        self.optimizer = create_optimizer(config["optimizer"], self.named, config["lr"])
        self.decayed = list(self.module.decayed()) if hasattr(self.module, "decayed") else []
        self.net = distributed.wrap(self.world, self.module, self.device)
        self.history = []
        self.best_metric = (config.get("checkpoint") or {}).get("metric") or ("val_loss" if self.validation is not None else "loss")
        self.best_epoch = None
        self.early = None  # {"value", "epoch", "weights"}
        self.since_best = 0
        self.stopped_early = False
        self.iteration = 0
        self.start_epoch = 0
        if ck is not None:
            self._restore(ck)
        if self.world.main:
            try:
                os.makedirs(self.out_dir, exist_ok=True)
                mark_run_folder(self.out_dir, config["model"])
                removed = remove_stale_temporaries(self.out_dir)
            except OSError as e:
                raise TrainError("Cannot write %s: %s." % (path_text(self.out_dir), e.strerror or e)) from None
            if removed:
                self.log("removed %s that a killed run left in %s: %s%s" % (
                    "a temporary file" if len(removed) == 1 else "%d temporary files and folders" % len(removed),
                    path_text(self.out_dir), ", ".join(removed[:3]), ", …" if len(removed) > 3 else ""))
        self.checkpoint_dir = os.path.join(self.out_dir, CHECKPOINT_DIR)
        self.progress = Progress(o["log_json"] or not sys.stderr.isatty(), self.epochs, enabled=self.world.main)
        self.saved_epoch = 0

    def _pretrained(self, pretrained):
        """The recipe's `pretrained`: the weights of every layer whose name and shapes fit, from a saved model (train.ts)."""
        path = os.path.join(self.options["base_dir"], pretrained)
        folder = path if os.path.isdir(path) else os.path.dirname(path) if path.endswith(".json") and os.path.isfile(path) else None
        if folder is None or not os.path.isfile(os.path.join(folder, "model.json")):
            raise TrainError("The pretrained model %s cannot be loaded: there is no %s. `pretrained` names a model nnc train saved: its folder (runs/MODEL) "
                             "or its model.json, relative to the spec's folder." % (_js_quote(pretrained), path_text(os.path.join(folder or path, "model.json"))))
        try:
            _, arrays = tfjs_format.read_weights(folder)
        except tfjs_format.WeightsError as e:
            raise TrainError("The pretrained model %s cannot be loaded: %s" % (_js_quote(pretrained), e)) from None
        layers = {}
        for tf_name, path_in_module, _ in self.weights:
            layers.setdefault(tf_name.rpartition("/")[0] or tf_name, []).append((tf_name, path_in_module))
        copied = 0
        for layer, members in layers.items():
            fits = all(n in arrays and int(np.prod(arrays[n].shape)) == tfjs_format.tensor_at(self.module, m).numel() for n, m in members)
            if fits:
                tfjs_format.load_arrays(self.module, self.weights, arrays, folder, names={n for n, _ in members})
                copied += 1
        self.log("pretrained: copied the weights of %d layers from %s" % (copied, path_text(os.path.join(folder, "model.json"))))

    def _open_checkpoint(self, path):
        found = locate_checkpoint(os.path.abspath(path))
        if not found:
            raise TrainError("There is no checkpoint in %s: it holds no `checkpoint/` folder (nor is it one). Training writes one into its output "
                             "folder (default runs/MODEL) at the end of every epoch; pass that folder to --resume." % path)
        try:
            return read_checkpoint(found[0], found[1])
        except CheckpointError as e:
            raise TrainError(str(e)) from None

    def _check_resumable(self, ck):
        s, config = ck.state, self.config
        where = path_text(ck.dir)
        if s.get("model") != config["model"]:
            raise TrainError("The checkpoint in %s is of the model `%s`, not `%s`. Resume it with the spec that trained it, or train `%s` without --resume."
                             % (where, s.get("model"), config["model"], config["model"]))
        mine = {k: list(v.shape) for k, v in self.module.state_dict().items()}
        theirs = {k: list(v.shape) for k, v in ck.torch["model"].items()}
        if mine != theirs:
            problems = ["`%s` is %s in the checkpoint but %s in the spec" % (k, "x".join(map(str, theirs[k])), "x".join(map(str, mine[k])))
                        for k in mine if k in theirs and mine[k] != theirs[k]]
            problems += ["the model has `%s`, the checkpoint does not" % k for k in mine if k not in theirs]
            problems += ["the checkpoint has `%s`, the model does not" % k for k in theirs if k not in mine]
            raise TrainError("The model `%s` changed since the checkpoint in %s was written, so its weights do not fit: %s. A checkpoint resumes only the model it was made of."
                             % (config["model"], where, "; ".join(problems[:3])))
        if (s.get("optimizer") or {}).get("name") != config["optimizer"]["name"]:
            raise TrainError("The checkpoint in %s was trained with `%s`, but the recipe now says `%s`: the optimizer's state cannot carry over. Hint: undo the change to resume, or train without --resume."
                             % (where, (s.get("optimizer") or {}).get("name"), config["optimizer"]["name"]))
        if s.get("topology") != self.topology_sha:
            self.log("warning: the layers of `%s` changed since the checkpoint (their weights still fit): training goes on from its weights, but will not match an uninterrupted run." % config["model"])
        old = s.get("config") or {}
        changed = [k for k in dict.fromkeys(list(old) + list(config)) if k not in ("epochs", "seed") and old.get(k) != config.get(k)]
        if changed:
            self.log("warning: the recipe's %s changed since the checkpoint: the resumed run will not match an uninterrupted one." % ", ".join("`%s`" % k for k in changed))
        if s.get("epochs") != self.epochs:
            self.log("warning: the checkpoint's run was to train %s epochs, this one trains %d." % (s.get("epochs"), self.epochs))

    def _restore(self, ck):
        s, t = ck.state, ck.torch
        try:
            self.optimizer.load_state_dict(t["optimizer"])
        except (ValueError, KeyError, RuntimeError) as e:
            raise TrainError("%s: the optimizer's state does not fit the model (%s). Was it edited? Train again without --resume." % (path_text(ck.dir), str(e)[:200])) from None
        self.rng.restore(s["random"])
        self.iteration = s["iterations"]
        self.start_epoch = s["epoch"]
        self.history = list(s["history"])
        if s.get("best") and s["best"].get("metric") == self.best_metric:
            self.best_epoch = s["best"]
        es = s.get("earlyStop")
        cfg_es = self.config.get("earlyStop")
        if es and cfg_es and ((s.get("config") or {}).get("earlyStop") or {}).get("metric") == cfg_es["metric"]:
            self.early = {"value": es["value"], "epoch": es["epoch"], "weights": t.get("early_stop")}
            self.since_best = es["sinceBest"]
        self.stopped_early = bool(s.get("stoppedEarly"))
        left = ("it had stopped early, so nothing is left to train" if self.stopped_early else "nothing is left to train"
                if self.start_epoch >= self.epochs else "training epochs %d–%d" % (self.start_epoch + 1, self.epochs))
        self.log("resuming from epoch %d of %d (%s): %s" % (self.start_epoch, self.epochs, path_text(ck.dir), left))

    def _load(self):
        config, o = self.config, self.options
        try:
            kwargs = dict(input_shape=self.input_shape, seed=self.seed, base_dir=o["base_dir"],
                          task="regression" if self.regression else "classification", outputs=self.outputs, output_shape=self.output_shape)
            if not self.reconstruct:
                kwargs["classes"] = self.units if self.units > 1 else 2
            if o["mnist"] is not None:
                kwargs["mnist"] = o["mnist"]
            self.data = load_data(config["data"], **kwargs)
        except DataError as e:
            raise TrainError(e.message) from None
        d = self.data
        self.mode = target_mode(config, d)
        self.classify = self.mode != "input" and (d.classes > 0 or not self.regression)
        model = self.config["model"]
        if self.mode != "input" and len(self.output_shape) > 1 and (self.mode == "labels" or (self.mode == "values" and d.target_size != self.outputs)):
            raise TrainError("The model `%s` ends in %s, which needs a target per value, but %s gives %s.%s" % (
                model, "x".join(map(str, self.output_shape)), d.description,
                "one class per sample" if self.mode == "labels" else "%d targets per sample" % d.target_size,
                " To train it to give back its input, add `targets: input` to the data." if self.input_shape == self.output_shape else ""))
        if self.mode in ("input", "pixels") and config["augment"]:
            raise TrainError("Augmentation would change the inputs but not their %s: remove `augment` from the recipe." % (
                "copies as targets" if self.mode == "input" else "per-pixel targets"))
        if self.mode == "input" and self.input_shape != self.output_shape:
            raise TrainError("With `targets: input` the model `%s` must give back its input, %s, but it ends in %s." % (
                model, "x".join(map(str, self.input_shape)), "x".join(map(str, self.output_shape))))
        if d.classes == 0 and not self.regression and self.mode != "input":
            raise TrainError("%s gives regression targets, but the recipe's loss `%s` compares classes. Use `loss mse` or `loss mae`, or give the data class labels."
                             % (d.description[:1].upper() + d.description[1:], config["loss"]))
        if self.units > 1 and d.classes > self.units:
            raise TrainError("The data has %d classes, but the model `%s` ends in %d units." % (d.classes, model, self.units))
        extra = ", the inputs as targets" if self.mode == "input" and "as targets" not in d.description else (
            ", a class per pixel" if self.mode == "pixels" and "per pixel" not in d.description else "")
        self.log("data: %s%s" % (d.description, extra))

    def _split(self):
        config = self.config
        try:
            plan = split_data(self.data, config, self.rng)
        except DataError as e:
            raise TrainError(e.message) from None
        for note in plan.notes:
            self.log(note)
        train = plan.train
        if train.n == 0:
            raise TrainError("%s has no training samples." % (self.data.description[:1].upper() + self.data.description[1:]))
        try:
            self.normalizer = fit_normalizer(config["normalize"], train.x, streamed=bool(getattr(train, "streamed", False)))
        except (DataError, ValueError) as e:
            raise TrainError(getattr(e, "message", None) or str(e)) from None
        if self.mode == "input" and config["loss"] == "binary_crossentropy":
            lo, hi = float(train.x.min()), float(train.x.max())
            if lo < 0 or hi > 1:
                raise TrainError("With `targets: input` and `loss binary_crossentropy` the inputs are the targets and must lie in [0, 1], but %s has values from %s to %s. Use `loss mse` (or `mae`), or scale the data to [0, 1]."
                                 % (self.data.description, number_text(lo), number_text(hi)))
        self.train_split = self._tensors(train)
        self.validation = self._tensors(plan.validation) if plan.validation is not None else None
        self.test = self._tensors(plan.test) if plan.test is not None else None
        for name, part in (("training", self.train_split), ("validation", self.validation), ("test", self.test)):
            if part is not None and not torch.isfinite(part["x"]).all():
                raise TrainError("After `normalize %s`, the %s data is not finite: its values leave the range of a 32-bit float. Hint: rescale the inputs before training."
                                 % (config["normalize"]["kind"], name))

    def _tensors(self, s):
        """A split on the device: normalised inputs `x`, and what the loss compares with (`y`)."""
        raw = np.asarray(s.x, dtype=np.float32).reshape([s.n] + self.input_shape)
        x = np.asarray(normalize(raw, self.normalizer), dtype=np.float32).reshape([s.n] + self.input_shape)
        if self.mode == "input":
            y = torch.from_numpy(raw.reshape([s.n] + self.output_shape).copy())
        elif self.mode == "values":
            t = np.asarray(s.targets, dtype=np.float32).reshape(s.n, -1)
            k = t.shape[1]
            y = torch.from_numpy(t.reshape([s.n] + (self.output_shape if k == self.outputs else [k])).copy())
        elif self.mode == "pixels":
            ids = torch.from_numpy(np.asarray(s.labels).reshape(-1).astype(np.int64))
            if self.units == 1:
                y = ids.float().reshape([s.n] + self.output_shape)
            else:
                y = torch.nn.functional.one_hot(ids, self.units).float().reshape([s.n] + self.output_shape)
        else:
            ids = torch.from_numpy(np.asarray(s.labels).reshape(-1).astype(np.int64))
            y = ids.float().reshape(-1, 1) if self.units == 1 else torch.nn.functional.one_hot(ids, self.units).float()
        return {"x": torch.from_numpy(np.ascontiguousarray(x)).to(self.device), "y": y.to(self.device), "n": s.n}

    # ── step ───────────────────────────────────────────────────────────────────────────────────
    def step(self, epoch, b, idx):
        """One optimizer step on the global batch `idx` (indices into the training split)."""
        config = self.config
        split = self.train_split
        n = len(idx)
        if config["augment"] and len(self.input_shape) == 3:
            # Every rank augments the whole global batch, so the shared stream stays the same on all of them.
            xb = split["x"][torch.as_tensor(idx, dtype=torch.long, device=self.device)]
            xb = torch.as_tensor(augment_batch(xb.cpu().numpy(), config["augment"], self.rng), dtype=torch.float32, device=self.device)
            lo, hi = distributed.part(self.world, n)
            xb, yb = xb[lo:hi], split["y"][torch.as_tensor(idx[lo:hi], dtype=torch.long, device=self.device)]
        else:
            lo, hi = distributed.part(self.world, n)
            mine = torch.as_tensor(idx[lo:hi], dtype=torch.long, device=self.device)
            xb, yb = split["x"][mine], split["y"][mine]
        local = hi - lo
        weight = 1.0
        if local == 0:  # a short last batch with fewer samples than ranks: this rank joins with one sample that counts for nothing
            xb, yb = split["x"][:1], split["y"][:1]
            weight = 0.0
        torch.manual_seed(dropout_seed(self.seed, self.iteration, self.world.rank))
        self.net.train()
        self.optimizer.zero_grad(set_to_none=True)
        pred = self.net(xb)
        data_loss = self.loss_fn(yb, pred)
        extra = torch.zeros((), device=self.device)
        if hasattr(self.module, "regularization"):
            r = self.module.regularization()
            if torch.is_tensor(r) or r:
                extra = extra + r
        if config.get("weightDecay", 0) > 0 and self.decayed:
            extra = extra + sum(w.square().sum() for w in self.decayed) * (config["weightDecay"] / 2)
        # DDP averages the ranks' gradients: weight each rank's mean loss by its share of the batch.
        scale = weight * local * self.world.size / n if self.world.size > 1 else 1.0
        (data_loss * scale + extra).backward()
        with torch.no_grad():
            zero = torch.zeros((), device=self.device)
            acc = accuracy(yb, pred, self.units, config["loss"]) if self.classify else zero
            grads = [p.grad for _, p in self.named if p.grad is not None]
            # Σ of every gradient component: finite exactly when all of them are. One read-back per step, as TS.
            gsum = sum(g.sum() for g in grads) if grads else zero
            l, a, g, r = torch.stack([data_loss.detach().float(), acc.float(), gsum.float(), extra.detach().float()]).tolist()
            loss_sum, acc_sum, g, reg = self.world.sum([l * local * weight, a * local * weight, g, r], self.device) if self.world.active else [l * n, a * n, g, r]
        if self.world.active:
            reg = reg / self.world.size
            g = g / self.world.size
        loss = loss_sum / n + reg
        if not math.isfinite(loss) or not math.isfinite(g):
            raise TrainError(self._divergence(epoch, b, loss) + self._advice(epoch))
        if config.get("clip"):
            clip_gradients_([p for _, p in self.named], config["clip"])
        self.optimizer.step()
        self.iteration += 1
        return loss, acc_sum / n, n

    def _owner(self, path):
        o = self.owners.get(path)
        return "`%s` (%s)" % o if o else "`%s`" % path

    def _divergence(self, epoch, b, loss):
        where = ("The gradients overflowed in epoch %d, batch %d (the loss was %s)" % (epoch + 1, b, number_text(loss)) if math.isfinite(loss)
                 else "The loss became %s in epoch %d, batch %d" % ("NaN" if loss != loss else "infinite", epoch + 1, b))
        with torch.no_grad():
            weights = [(n, float(p.detach().double().norm())) for n, p in self.named]
            broken = [(n, v) for n, v in weights if not math.isfinite(v)]
            if broken:
                return "The weights are no longer finite in epoch %d, batch %d: the update made the weights of layer %s %s." % (
                    epoch + 1, b, self._owner(broken[0][0]), number_text(broken[0][1]))
            norms = [(n, float(p.grad.detach().double().norm())) for n, p in self.named if p.grad is not None]
        inf = [n for n, v in norms if v == float("inf")]
        nan = [n for n, v in norms if v != v]
        fin = sorted([(n, v) for n, v in norms if math.isfinite(v)], key=lambda t: -t[1])

        def names(lst):
            shown = ", ".join(self._owner(n) for n in lst[:3])
            return ("layers " if len(lst) > 1 else "layer ") + shown + (" and %d more" % (len(lst) - 3) if len(lst) > 3 else "")
        if not inf and not nan and fin:
            nxt = ", ".join("%s %s" % (self._owner(n), number_text(v)) for n, v in fin[1:3])
            return "%s: the gradient of layer %s grew to %s (the largest%s)." % (where, self._owner(fin[0][0]), number_text(fin[0][1]), "; next: " + nxt if nxt else "")
        parts = []
        if inf:
            parts.append("the gradient%s of %s overflowed to infinity" % ("s" if len(inf) > 1 else "", names(inf)))
        if nan:
            parts.append("the gradient%s of %s became NaN" % ("s" if len(nan) > 1 else "", names(nan)))
        if fin:
            parts.append("the largest finite one is that of layer %s (%s)" % (self._owner(fin[0][0]), number_text(fin[0][1])))
        if not inf and not fin:
            top = max(weights, key=lambda t: t[1]) if weights else None
            return "%s: every gradient is NaN, so the forward pass overflowed%s." % (
                where, "; the largest weights are those of layer %s (norm %s)" % (self._owner(top[0]), number_text(top[1])) if top else "")
        return "%s: %s." % (where, "; ".join(parts))

    def _advice(self, epoch):
        config = self.config
        kept = (" The weights of the last good epoch (%d) are kept in %s." % (epoch, path_text(self.checkpoint_dir)) if epoch > 0
                else " No epoch had finished, so there is no checkpoint to go back to.")
        lr = self.optimizer.learning_rate
        clip = config.get("clip")
        hint = ("Hint: lower the learning rate (now %s), or clip harder than `clip %s %s`." % (number_text(lr), clip["by"], clip["threshold"]) if clip
                else "Hint: add `clip norm 1.0` to the recipe, or lower the learning rate (now %s)." % number_text(lr))
        return "%s %s" % (kept, hint)

    # ── evaluate ───────────────────────────────────────────────────────────────────────────────
    def evaluate(self, split):
        """Mean loss (without regularisation) and accuracy on a split, in batches of max(batch, 256), inference mode."""
        batch = max(int(self.config["batch"]), 256)
        n = split["n"]
        count = (n + batch - 1) // batch
        loss = acc = 0.0
        self.net.eval()
        with torch.no_grad():
            for k in range(self.world.rank, count, self.world.size):
                x = split["x"][k * batch:(k + 1) * batch]
                y = split["y"][k * batch:(k + 1) * batch]
                p = self.module(x)
                m = x.shape[0]
                # Scaled by the batch's size in float32, summed in float64, as train.ts's evaluate.
                loss += float(self.loss_fn(y, p) * m)
                if self.classify:
                    acc += float(accuracy(y, p, self.units, self.config["loss"]) * m)
        loss, acc = self.world.sum([loss, acc], self.device) if self.world.active else (loss, acc)
        if n == 0:
            return {"loss": float("nan"), "n": 0}
        out = {"loss": loss / n, "n": n}
        if self.classify:
            out["acc"] = acc / n
        return out

    # ── end_of_epoch ───────────────────────────────────────────────────────────────────────────
    def end_of_epoch(self, epoch, lr, loss_sum, acc_sum, seen, started):
        record = {"epoch": epoch + 1, "lr": lr, "loss": loss_sum / seen}
        if self.classify:
            record["acc"] = acc_sum / seen
        record["seconds"] = time.perf_counter() - started
        if self.validation is not None:
            v = self.evaluate(self.validation)
            record["val_loss"] = v["loss"]
            if "acc" in v:
                record["val_acc"] = v["acc"]
        # seconds differ by rank: rank 0's, so that every rank keeps the same history
        record["seconds"] = self.world.broadcast(record["seconds"])
        self.history.append(record)
        self.progress.epoch(record)
        es = self.config.get("earlyStop")
        if es:
            value = _metric(record, es["metric"])
            if value is not None:
                if _better(es["metric"], value, self.early["value"] if self.early else None):
                    self.early = {"value": value, "epoch": epoch + 1,
                                  "weights": {k: v.detach().clone() for k, v in self.module.state_dict().items()} if es["restoreBest"] else None}
                    self.since_best = 0
                else:
                    self.since_best += 1
                    if self.since_best >= es["patience"]:
                        self.stopped_early = True
        self.checkpoint(epoch, record)
        if self.stopped_early and es:
            self.log("early stop: %s has not improved for %d epochs (best %.4f in epoch %d)" % (es["metric"], es["patience"], self.early["value"], self.early["epoch"]))

    # ── checkpoint ─────────────────────────────────────────────────────────────────────────────
    def _model_files(self):
        return tfjs_format.model_files(self.module, self.weights, self.topology)

    def checkpoint(self, epoch, record):
        with torch.no_grad():
            bad = next(((n, t) for n, t in self.module.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()), None)
        if bad:
            value = float(bad[1][~torch.isfinite(bad[1])].flatten()[0])
            raise TrainError("The weights of layer %s became %s in epoch %d, though every batch's loss was finite: the last updates overflowed them.%s"
                             % (self._owner(bad[0]), number_text(value), epoch + 1, self._advice(epoch)))
        if not self.world.main:
            self.saved_epoch = epoch + 1
            return
        files = self._model_files()
        value = _metric(record, self.best_metric)
        try:
            # best/ before checkpoint/: after a crash between the two, the resumed run redoes this epoch and writes the same best/ again.
            if value is not None and math.isfinite(value) and _better(self.best_metric, value, self.best_epoch["value"] if self.best_epoch else None):
                self.best_epoch = {"metric": self.best_metric, "value": value, "epoch": epoch + 1}
                write_best(os.path.join(self.out_dir, BEST_DIR), files, self.best_epoch)
            state = {
                "model": self.config["model"],
                "epoch": epoch + 1,
                "epochs": self.epochs,
                "iterations": self.iteration,
                "seed": self.seed,
                "random": self.rng.state(),
                "stoppedEarly": self.stopped_early,
                "config": self.config,
                "topology": self.topology_sha,
                "weights": [{"name": s["name"], "shape": s["shape"]} for s in tfjs_format.manifest_specs(__import__("json").loads(files[0]))],
                "optimizer": {"name": self.config["optimizer"]["name"], "slots": []},
                "best": self.best_epoch,
                "earlyStop": {"value": self.early["value"], "epoch": self.early["epoch"], "sinceBest": self.since_best, "weights": None} if self.early else None,
                "history": self.history,
                "device": self.device.type,
                "processes": self.world.size,
            }
            torch_state = {
                "model": {k: v.detach().cpu() for k, v in self.module.state_dict().items()},
                "optimizer": _to_cpu(self.optimizer.state_dict()),
                "early_stop": {k: v.cpu() for k, v in self.early["weights"].items()} if self.early and self.early["weights"] is not None else None,
            }
            write_checkpoint(self.checkpoint_dir, state, torch_state, files)
        except OSError as e:
            raise TrainError("Cannot write %s: %s." % (path_text(self.out_dir), e.strerror or e)) from None
        self.saved_epoch = epoch + 1

    # ── the epochs, and the end ────────────────────────────────────────────────────────────────
    def run(self):
        config = self.config
        n = self.train_split["n"]
        batch = int(config["batch"])
        batches = (n + batch - 1) // batch
        limit = min(batches, self.options["max_batches"] or batches)
        epoch = self.start_epoch
        while epoch < self.epochs and not self.stopped_early:
            started = time.perf_counter()
            lr = learning_rate_at(config["schedule"], config["lr"], epoch, self.epochs)
            self.optimizer.learning_rate = lr
            order = permutation(n, self.rng)
            loss_sum = acc_sum = 0.0
            seen = 0
            for b in range(limit):
                idx = order[b * batch:(b + 1) * batch]
                loss, acc, size = self.step(epoch, b + 1, idx)
                loss_sum += loss * size
                acc_sum += acc * size
                seen += size
                self.progress.batch(epoch, b + 1, limit, loss_sum / seen, acc_sum / seen if self.classify else None)
            self.end_of_epoch(epoch, lr, loss_sum, acc_sum, seen, started)
            epoch += 1
        es = config.get("earlyStop")
        if es and es.get("restoreBest") and self.early and self.early["weights"] is not None and self.early["epoch"] != len(self.history):
            self.module.load_state_dict(self.early["weights"])
            self.log("restored the weights of epoch %d" % self.early["epoch"])
        return self.finish()

    def finish(self):
        result = {"backend": self.device.type, "engine": ENGINE, "seed": self.seed, "history": self.history, "stoppedEarly": self.stopped_early}
        if self.test is not None:
            t = self.evaluate(self.test)
            result["test"] = {"loss": t["loss"]}
            if "acc" in t:
                result["test"]["acc"] = t["acc"]
            self.log("test: loss %.4f%s on %d samples (evaluated once, after training)" % (
                t["loss"], ", acc %.2f%%" % (t["acc"] * 100) if "acc" in t else "", t["n"]))
        if self.world.main:
            try:
                text, data = self._model_files()
                tfjs_format.write_atomic(os.path.join(self.out_dir, "weights.bin"), data)
                tfjs_format.write_atomic(os.path.join(self.out_dir, "model.json"), text)
                write_json_atomic(os.path.join(self.out_dir, HISTORY_JSON), {
                    "model": self.config["model"], "backend": self.device.type, "engine": ENGINE, "seed": self.seed,
                    "epochs": self.history, "test": result.get("test")})
                write_json_atomic(os.path.join(self.out_dir, NORMALIZER_JSON), {"kind": self.config["normalize"]["kind"], "stats": _stats(self.normalizer)})
                facts = data_facts(self.data, self.config, self.input_shape, self.outputs if self.regression else None,
                                   base_dir=self.options["base_dir"], output_shape=self.output_shape)
                write_json_atomic(os.path.join(self.out_dir, DATA_JSON), facts)
            except OSError as e:
                raise TrainError("Cannot write %s: %s." % (path_text(self.out_dir), e.strerror or e)) from None
            self.log("saved %s and history.json" % path_text(os.path.join(self.out_dir, "model.json")))
        result["outDir"] = self.out_dir
        result["model"] = self.module  # the trained nn.Module (not part of the TS result)
        self.world.barrier()
        return result


def _js_quote(text):
    import json

    return json.dumps(text if len(text) <= 120 else text[:120] + "…", ensure_ascii=False)


def _stats(normalizer):
    stats = getattr(normalizer, "stats", normalizer)
    return {k: [float(v) for v in np.asarray(vals).reshape(-1)] for k, vals in stats.items()}


def _to_cpu(obj):
    if torch.is_tensor(obj):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    return obj


def train(model_class, recipe, info, weights, *, out=None, epochs=None, seed=None, device="auto", log_json=False, resume=None,
          max_batches=None, base_dir=".", initial=None, mnist=None, force=False, log=None):
    """Trains `model_class` by `recipe` (the TS TrainConfig) and writes the run folder; returns the TS TrainResult's fields
    (backend, engine, seed, history, test, stoppedEarly, outDir) and `model`, the trained module. A user's mistake raises
    TrainError (or DataError)."""
    run = Run(model_class, recipe, info, weights, out=out, epochs=epochs, seed=seed, device=device, log_json=log_json, resume=resume,
              max_batches=max_batches, base_dir=base_dir, initial=initial, mnist=mnist, force=force, log=log)
    try:
        run.set_up()
        return run.run()
    finally:
        run.world.close()


def main(model_class, recipe, info, weights, argv=None):
    """The generated module's command line: `python3 model.py [--out DIR] [--epochs N] …`."""
    # Started by nnc_torch/launch.py, a Ctrl-C so far ended the process quietly; from here on
    # it is a KeyboardInterrupt, answered below as every run answers it.
    if getattr(signal.getsignal(signal.SIGINT), "nnc_startup", False):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    module_file = _module_file(model_class)
    here = os.path.dirname(os.path.abspath(module_file)) if module_file else os.getcwd()
    stem = os.path.splitext(os.path.basename(module_file))[0] if module_file else recipe["model"]
    parser = argparse.ArgumentParser(prog=os.path.basename(module_file) if module_file else recipe["model"],
                                     description="Train %s with the PyTorch engine (the recipe nnc compiled)." % recipe["model"])
    parser.add_argument("--out", help="the run folder (default runs/%s)" % recipe["model"])
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--seed", type=int, help="override the recipe's seed")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="cuda or cpu (default auto: cuda where PyTorch sees a GPU)")
    parser.add_argument("--log-json", action="store_true", help="one JSON line per epoch on stdout")
    parser.add_argument("--resume", metavar="RUN", help="go on from the checkpoint of a run folder")
    parser.add_argument("--max-batches", type=int, help="stop each epoch after this many batches (smoke tests)")
    parser.add_argument("--base-dir", default=here, help="the folder the recipe's data paths are relative to (default: the module's)")
    parser.add_argument("--initial", default=os.path.join(here, stem + ".initial"), help="the TF.js topology and initial weights (default: %s.initial beside the module)" % stem)
    parser.add_argument("--mnist", default=os.path.join(here, "mnist.npz"), help="the MNIST archive for `data mnist` (default: mnist.npz beside the module)")
    parser.add_argument("--force", action="store_true", help="write into --out even over files nnc did not write")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.max_batches is not None and args.max_batches < 1:
        parser.error("--max-batches must be at least 1")
    if args.seed is not None and args.seed < 0:
        parser.error("--seed must be a whole number of at least 0")
    try:
        train(model_class, recipe, info, weights, out=args.out, epochs=args.epochs, seed=args.seed, device=args.device, log_json=args.log_json,
              resume=args.resume, max_batches=args.max_batches, base_dir=args.base_dir, initial=args.initial,
              mnist=args.mnist if os.path.exists(args.mnist) else None, force=args.force)
    except (TrainError, DataError) as e:
        sys.stderr.write("error: %s\n" % (getattr(e, "message", None) or e))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    return 0
