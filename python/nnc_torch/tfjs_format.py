"""
Weights in TensorFlow.js's layers format (``model.json`` + ``weights.bin``), read into and
written from a generated PyTorch module. A generated module's ``WEIGHTS`` table names, for every
TF.js weight, the module's parameter or buffer and how the two layouts relate:

- ``same``: the same values in the same order (biases, norms' scales and statistics, PReLU slopes).
- ``dense``: TF.js [in, out], PyTorch ``Linear`` [out, in].
- ``conv2d``: TF.js [kh, kw, in, out], PyTorch [out, in, kh, kw] (grouped convs too: in = in/groups).
- ``conv1d``: TF.js [k, in, out], PyTorch [out, in, k].
- ``depthwise``: TF.js [kh, kw, in, multiplier], PyTorch [in·multiplier, 1, kh, kw] (output channel
  c·multiplier + m in both).
- ``upconv``: TF.js ``conv2dTranspose`` [kh, kw, out, in], PyTorch ``ConvTranspose2d`` [in, out, kh, kw].

After the permutation a weight is reshaped to the other side's shape (TF.js's channel-wise PReLU
keeps its slopes as [1, 1, C]). Loading checks every name and size and says which one is wrong.
"""
import json
import os
import tempfile

import numpy as np
import torch

MODEL_JSON = "model.json"
WEIGHTS_BIN = "weights.bin"

_DTYPES = {"float32": np.float32, "int32": np.int32}

# TF.js layout → PyTorch layout, as a permutation of the TF.js axes.
_TO_TORCH = {"dense": (1, 0), "conv2d": (3, 2, 0, 1), "conv1d": (2, 1, 0), "upconv": (3, 2, 0, 1), "depthwise": (2, 3, 0, 1)}


class WeightsError(Exception):
    """A weights folder that does not fit the model: one message naming the file and the weight."""


def read_weights(folder):
    """The model.json of ``folder`` (a dict) and its weights by name, as float32/int32 arrays in TF.js's layout."""
    path = os.path.join(folder, MODEL_JSON)
    try:
        with open(path, "r", encoding="utf-8") as f:
            model_json = json.load(f)
    except FileNotFoundError:
        raise WeightsError("%s: no such file" % path)
    except (OSError, ValueError) as e:
        raise WeightsError("%s: not a readable model.json (%s)" % (path, e))
    arrays = {}
    for group in model_json.get("weightsManifest") or []:
        data = b""
        for p in group.get("paths") or []:
            file = os.path.normpath(os.path.join(folder, p))
            if os.path.dirname(file) != os.path.normpath(folder):
                raise WeightsError("%s: the weight file %r lies outside its folder" % (path, p))
            try:
                with open(file, "rb") as f:
                    data += f.read()
            except OSError as e:
                raise WeightsError("%s: cannot read the weight file %r (%s)" % (path, p, e.strerror))
        offset = 0
        for spec in group.get("weights") or []:
            dtype = _DTYPES.get(spec.get("dtype", "float32"))
            if dtype is None or spec.get("quantization"):
                raise WeightsError("%s: the weight %r is stored as %s, which nnc does not read" % (path, spec.get("name"), spec.get("dtype")))
            shape = tuple(int(d) for d in spec["shape"])
            count = int(np.prod(shape)) if shape else 1
            size = count * np.dtype(dtype).itemsize
            if offset + size > len(data):
                raise WeightsError("%s: its weight files end before the weight %r" % (path, spec["name"]))
            arrays[spec["name"]] = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape).copy()
            offset += size
    return model_json, arrays


def read_topology(folder):
    """The model.json of ``folder`` as a dict (its weights are not read)."""
    path = os.path.join(folder, MODEL_JSON)
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise WeightsError("%s: no such file" % path)
    except (OSError, ValueError) as e:
        raise WeightsError("%s: not a readable model.json (%s)" % (path, e))


def manifest_specs(model_json):
    """The weight specs of a model.json, in the order of its weight files."""
    return [spec for group in model_json.get("weightsManifest") or [] for spec in group.get("weights") or []]


def tensor_at(module, path):
    """``module.a.b.weight`` from ``"a.b.weight"``."""
    obj = module
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def tf_to_torch(array, layout, torch_shape):
    """A TF.js-layout array → a tensor of ``torch_shape``."""
    a = np.asarray(array)
    if layout in _TO_TORCH:
        a = a.transpose(_TO_TORCH[layout])
    return torch.from_numpy(np.ascontiguousarray(a).reshape(tuple(torch_shape)))


def torch_to_tf(tensor, layout, tf_shape):
    """A module's tensor → a float32 array in TF.js's layout and ``tf_shape``."""
    a = tensor.detach().to("cpu", torch.float32).numpy()
    if layout in _TO_TORCH:
        perm = _TO_TORCH[layout]
        if layout == "depthwise":
            # [in·m, 1, kh, kw] → [in, m, kh, kw] before the axes go back.
            a = a.reshape(tf_shape[2], tf_shape[3], tf_shape[0], tf_shape[1])
        inverse = [0] * len(perm)
        for i, p in enumerate(perm):
            inverse[p] = i
        a = a.transpose(inverse)
    return np.ascontiguousarray(a.reshape(tuple(tf_shape)), dtype=np.float32)


def load_arrays(module, weights, arrays, where, names=None):
    """Copies ``arrays`` (TF.js names → TF.js-layout arrays) into ``module`` by the ``weights`` table.

    ``names`` limits it to those TF.js names; every one of them must be in ``arrays`` with the size
    of the module's tensor, else a WeightsError naming ``where``."""
    with torch.no_grad():
        for tf_name, path, layout in weights:
            if names is not None and tf_name not in names:
                continue
            target = tensor_at(module, path)
            if tf_name not in arrays:
                raise WeightsError("%s has no weight %r, which the model needs. Was it written for another spec?" % (where, tf_name))
            array = arrays[tf_name]
            if int(np.prod(array.shape)) != target.numel():
                raise WeightsError("%s gives %r the shape %s, but the model's is %s." % (where, tf_name, "x".join(map(str, array.shape)), "x".join(map(str, target.shape))))
            target.copy_(tf_to_torch(array, layout, target.shape).to(target.dtype))


def load_weights(module, weights, folder):
    """Loads every weight of the ``weights`` table from a TF.js layers-format folder."""
    _, arrays = read_weights(folder)
    load_arrays(module, weights, arrays, os.path.join(folder, MODEL_JSON))


def weight_arrays(module, weights, specs):
    """The module's weights as TF.js-layout arrays, in the order of ``specs`` (a model.json's manifest)."""
    by_name = {tf_name: (path, layout) for tf_name, path, layout in weights}
    out = []
    for spec in specs:
        name = spec["name"]
        if name not in by_name:
            raise WeightsError("the model has no weight %r of the TF.js topology it writes" % name)
        path, layout = by_name[name]
        out.append(torch_to_tf(tensor_at(module, path), layout, [int(d) for d in spec["shape"]]))
    return out


def model_files(module, weights, topology_json):
    """``(model.json text, weights.bin bytes)`` of the module in TF.js's layers format, on the
    topology (and manifest order) of ``topology_json`` (a model.json as a dict)."""
    specs = [{"name": s["name"], "shape": [int(d) for d in s["shape"]], "dtype": "float32"} for s in manifest_specs(topology_json)]
    arrays = weight_arrays(module, weights, specs)
    out = dict(topology_json)
    out["weightsManifest"] = [{"paths": ["./" + WEIGHTS_BIN], "weights": specs}]
    data = b"".join(a.tobytes() for a in arrays)
    return json.dumps(out, separators=(",", ":")), data


def write_atomic(path, data):
    """Writes ``data`` (bytes or str) to ``path`` through a temporary file renamed over it."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def save_model(module, weights, topology_folder, out_folder):
    """Writes ``out_folder/model.json`` + ``weights.bin``: the module's weights on the TF.js topology
    of ``topology_folder/model.json``. weights.bin goes first, so model.json never names weights
    that are not there yet."""
    text, data = model_files(module, weights, read_topology(topology_folder))
    write_atomic(os.path.join(out_folder, WEIGHTS_BIN), data)
    write_atomic(os.path.join(out_folder, MODEL_JSON), text)
