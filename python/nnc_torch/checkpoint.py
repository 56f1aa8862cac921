"""Checkpoints of the PyTorch engine: what the loop writes at the end of every epoch so that
`--resume` goes on exactly as an uninterrupted run would on the same device, and best/.

`<out>/checkpoint/` holds:

  model.json, weights.bin   the model in the TF.js layers format (tfjs_format.save_model)
  torch-state.pt            torch.save of the model's state_dict, the optimizer's state_dict,
                            early stopping's best weights and the torch RNG states
  state.json                the loop's state, as the TS engine's state.json (epoch, iterations,
                            seed, the SeededRandom state, best, earlyStop, history, config…) with
                            `"engine": "pytorch"`, and the SHA-256 of every other file

Resuming loads the state_dicts from torch-state.pt (not the TF.js files), so it is exact bit for
bit. The folder is written whole and swapped in (files.replace_dir_atomic), so a crash leaves
the old or the new checkpoint complete; reading verifies every checksum.
"""
import hashlib
import io
import json
import os

import torch

from .files import (BEST_JSON, CHECKPOINT_DIR, MODEL_JSON, STATE_JSON, TORCH_STATE, WEIGHTS_BIN, complete_dir,
                    json_text, path_text, replace_dir_atomic)

FORMAT = "nnc-checkpoint"
VERSION = 1
ENGINE = "pytorch"


class CheckpointError(Exception):
    """A checkpoint that cannot be read: a message for the user."""


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def topology_hash(topology):
    """SHA-256 of a model topology as JSON.stringify writes it (no spaces)."""
    return sha256(json.dumps(topology, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _torch_load(data):
    buf = io.BytesIO(data)
    try:
        return torch.load(buf, map_location="cpu", weights_only=True)
    except Exception:
        # torch 1.x: no `weights_only`, or its restricted unpickler lacks floats (opcode BINFLOAT),
        # which every optimizer's state_dict holds. The file's checksum matched state.json's.
        if int(torch.__version__.split(".")[0]) >= 2:
            raise
        buf.seek(0)
        return torch.load(buf, map_location="cpu")


def write_checkpoint(path, state, torch_state, model_files=None):
    """Writes the checkpoint folder `path` atomically. `model_files`: (model.json text, weights.bin bytes) or None."""
    files = []
    if model_files is not None:
        files.append((WEIGHTS_BIN, model_files[1]))
        files.append((MODEL_JSON, model_files[0].encode("utf-8") if isinstance(model_files[0], str) else model_files[0]))
    files.append((TORCH_STATE, torch_bytes(torch_state)))
    full = {"format": FORMAT, "version": VERSION, "engine": ENGINE}
    full.update(state)
    full["files"] = {name: sha256(data) for name, data in files}
    files.append((STATE_JSON, json_text(full, indent=1)))
    replace_dir_atomic(path, files)


def write_best(path, model_files, best):
    """Writes best/: the model (TF.js layers format), and which epoch and value made it the best."""
    replace_dir_atomic(path, [(WEIGHTS_BIN, model_files[1]), (MODEL_JSON, model_files[0]), (BEST_JSON, json_text(best))])


def locate_checkpoint(path):
    """(checkpoint folder, run folder) for a run folder holding checkpoint/, or a checkpoint folder; None if neither."""
    inside = complete_dir(os.path.join(path, CHECKPOINT_DIR))
    if inside:
        return inside, path
    if os.path.exists(os.path.join(path, STATE_JSON)):
        return path, os.path.dirname(os.path.abspath(path))
    return None


class Checkpoint:
    def __init__(self, path, run_dir, state, torch_state):
        self.dir = path
        self.run_dir = run_dir
        self.state = state
        self.torch = torch_state


def read_checkpoint(path, run_dir=None):
    """Reads and verifies the checkpoint folder `path`; raises CheckpointError with a message for the user."""
    run_dir = run_dir or os.path.dirname(os.path.abspath(path))
    state_path = os.path.join(path, STATE_JSON)
    shown = path_text(state_path)
    again = "Was it edited? Train again without --resume."
    try:
        with open(state_path, "rb") as f:
            text = f.read()
    except OSError:
        raise CheckpointError("The checkpoint in %s is incomplete: it has no %s. Was the folder copied in part? Train again without --resume." % (path_text(path), STATE_JSON)) from None
    try:
        state = json.loads(text)
    except ValueError as e:
        raise CheckpointError("The checkpoint's %s is not valid JSON (%s). Was it edited or cut short? Train again without --resume." % (shown, str(e)[:200])) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError('%s is not an nnc checkpoint (it lacks `"format": "%s"`).' % (shown, FORMAT))
    if state.get("version") != VERSION:
        raise CheckpointError("The checkpoint in %s has format version %s; this nnc reads version %d. Train again without --resume." % (path_text(path), json.dumps(state.get("version"))[:40], VERSION))
    if state.get("engine") != ENGINE:
        raise CheckpointError(
            "The checkpoint in %s was written by the TF.js engine (`nnc train`), which the PyTorch engine cannot resume: "
            "their optimizers keep different state. Resume it with `nnc train --resume`, or train again without --resume." % path_text(path))
    for key, kind in (("epoch", int), ("epochs", int), ("iterations", int), ("seed", int), ("random", int), ("history", list), ("files", dict), ("config", dict), ("weights", list)):
        if not isinstance(state.get(key), kind) or isinstance(state.get(key), bool):
            raise CheckpointError("%s: `%s` is missing or of the wrong kind. %s" % (shown, key, again))
    if len(state["history"]) != state["epoch"]:
        raise CheckpointError("%s: `history` must hold one record per finished epoch: `epoch` is %d, but `history` has %d. %s" % (shown, state["epoch"], len(state["history"]), again))
    blobs = {}
    for name in (TORCH_STATE,) + tuple(n for n in (WEIGHTS_BIN, MODEL_JSON) if n in state["files"]):
        expected = state["files"].get(name)
        if expected is None:
            raise CheckpointError("%s: `files` lists no checksum for %s. %s" % (shown, name, again))
        try:
            with open(os.path.join(path, name), "rb") as f:
                data = f.read()
        except OSError:
            raise CheckpointError("The checkpoint in %s is incomplete: %s is missing. Train again without --resume." % (path_text(path), name)) from None
        if sha256(data) != expected:
            raise CheckpointError("The checkpoint in %s is damaged: %s does not match its checksum (was it changed or cut short?). Train again without --resume." % (path_text(path), name))
        blobs[name] = data
    try:
        torch_state = _torch_load(blobs[TORCH_STATE])
    except Exception as e:  # a file with the right checksum that torch cannot read: another torch's format
        raise CheckpointError("The checkpoint's %s cannot be read by this PyTorch (%s): %s. Train again without --resume." % (TORCH_STATE, torch.__version__, str(e)[:200])) from None
    return Checkpoint(path, run_dir, state, torch_state)
