"""Image folders (``images(…)``), a port of src/runtime/data/images/: one sub-folder per class of
PNG/JPEG files, classes sorted by UTF-16 code units, samples in order of class then path; each
image decoded (PIL), converted to the model's channels (alpha on black, BT.601 integer luma) and
fitted by crop/pad/stretch with the TS worker's own triangle-filter resize, ported operation for
operation, so a PNG gives the same bytes as the TS engine. JPEG decoders differ by a few levels
(libjpeg here, jpeg-js or libjpeg-turbo there). Images TS hands to sharp (PNGs over 192x192,
JPEGs over 96x96) are resized here by the JS resize, which sharp's ``linear`` kernel matches to
rounding. Loaded whole into memory (the TS engine streams; its sample order is the same)."""
from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .common import DataError, Dataset, Samples, count, describe_shape, js_sort_key, plural, quote, resolve

MAX_PIXELS = 16383 * 16383


def image_input(input_shape: Sequence[int], source: str, where: Optional[str] = None) -> Tuple[int, int, int]:
    if len(input_shape) != 3 or input_shape[2] not in (1, 3):
        size = f"{input_shape[0]}x{input_shape[1]}" if len(input_shape) == 3 else "32x32"
        raise DataError(
            f"{source} gives images, so the model's input must be HxWx1 (grey) or HxWx3 (RGB), but it takes {describe_shape(input_shape)}. Give the model `input {size}x3` for colour images or `input {size}x1` for grey ones; images of any size are fitted to it.",
            None if where is None else {"file": where})
    return int(input_shape[0]), int(input_shape[1]), int(input_shape[2])


def _ignored(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _list_classes(path: str, base_dir: str, role: str):
    d = resolve(base_dir, path)
    shown = quote(path)
    if not os.path.exists(d):
        raise DataError(f"Cannot find the {role} image folder {shown}: there is no {d}. Relative paths are read from {base_dir} (the spec's folder when training, the current folder for predict and evaluate).", {"file": d})
    if not os.path.isdir(d):
        raise DataError(f"The {role} image folder {shown} is a file, not a folder ({d}). `images(…)` reads a folder with one sub-folder of PNG/JPEG files per class, e.g. {quote(os.path.join(path, 'cat', '001.jpg'))} and {quote(os.path.join(path, 'dog', '001.jpg'))}.", {"file": d})
    classes, stray = [], []
    for name in os.listdir(d):
        if _ignored(name):
            continue
        (classes if os.path.isdir(os.path.join(d, name)) else stray).append(name)
    if stray:
        stray.sort(key=js_sort_key)
        others = f" (and {plural(len(stray) - 1, 'other file')})" if len(stray) > 1 else ""
        raise DataError(
            f"{quote(os.path.join(path, stray[0]))}{others} is directly in the {role} image folder {shown}, but images must be in one sub-folder per class: the sub-folder's name is the class. Move it into a class folder, e.g. {quote(os.path.join(path, '<class>', stray[0]))}.",
            {"file": os.path.join(d, stray[0])})
    if not classes:
        raise DataError(f"The {role} image folder {shown} has no class sub-folders ({d}). `images(…)` needs one sub-folder of PNG/JPEG files per class, e.g. {quote(os.path.join(path, 'cat', '001.jpg'))} and {quote(os.path.join(path, 'dog', '001.jpg'))}.", {"file": d})
    classes.sort(key=js_sort_key)
    return d, [(c, os.path.join(d, c), _files_under(os.path.join(d, c))) for c in classes]


def _files_under(d: str) -> List[str]:
    out: List[str] = []
    seen = set()

    def walk(folder: str, rel: str) -> None:
        real = os.path.realpath(folder)
        if real in seen:
            return
        seen.add(real)
        for name in os.listdir(folder):
            if _ignored(name):
                continue
            full = os.path.join(folder, name)
            r = name if rel == "" else os.path.join(rel, name)
            if os.path.isdir(full):
                walk(full, r)
            else:
                out.append(r)

    walk(d, "")
    return sorted(out, key=js_sort_key)


def _describe_content(head: bytes) -> str:
    if not head:
        return "empty (0 bytes)"
    a4 = head[:4].decode("latin-1")
    if a4 == "GIF8":
        return "a GIF image, not a PNG or JPEG one"
    if a4 == "RIFF" and head[8:12] == b"WEBP":
        return "a WebP image, not a PNG or JPEG one"
    if head[:2] == b"BM" and len(head) >= 26:
        return "a BMP image, not a PNG or JPEG one"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "a TIFF image (or a camera's raw file), not a PNG or JPEG one"
    if head[:4] == b"\x89PNG":
        return "a damaged PNG image: its 8-byte signature is cut short or altered (a file sent as text can lose bytes)"
    if head[:2] == b"\xff\xd8":
        return "a damaged JPEG image: it ends after its first marker"
    if a4 == "%PDF":
        return "a PDF document, not an image"
    if head[:4] == b"PK\x03\x04":
        return "a zip archive, not an image"
    if head[:2] == b"\x1f\x8b":
        return "a gzip archive, not an image"
    if all(b in (9, 10, 13) or 32 <= b < 127 or b >= 128 for b in head[:512]):
        return "a text file, not an image"
    return f"not a PNG or JPEG image: it starts with the bytes {' '.join(f'{b:02x}' for b in head[:8])} (a PNG starts with 89 50 4e 47, a JPEG with ff d8 ff)"


def _decode(file: str):
    """(pixels uint8 [h, w, channels], what) or (None, why it is not an image)."""
    try:
        with open(file, "rb") as f:
            head = f.read(64)
    except OSError as e:
        return None, f"unreadable: {e.strerror or e}"
    if len(head) == 0:
        return None, "empty (0 bytes)"
    png = head[:8] == b"\x89PNG\r\n\x1a\n"
    jpeg = head[:3] == b"\xff\xd8\xff"
    if not png and not jpeg:
        return None, _describe_content(head)
    from PIL import Image  # Debian python3-pil
    name = "PNG" if png else "JPEG"
    try:
        with Image.open(file) as im:
            im.load()
            w, h = im.size
            if w * h > MAX_PIXELS:
                return None, f"a {name} image of {w}x{h} pixels, more than the {MAX_PIXELS:,} pixels (16,383²) nnc decodes; shrink it first"
            if png:
                if im.mode in ("I;16", "I;16B", "I"):
                    v = np.asarray(im, dtype=np.float64)
                    g = np.floor(v * 255 / 65535 + 0.5).astype(np.uint8)
                    px = np.stack([g, g, g, np.full_like(g, 255)], axis=-1)
                else:
                    px = np.asarray(im.convert("RGBA"), dtype=np.uint8)  # pngjs gives RGBA
            else:
                px = np.asarray(im if im.mode == "L" else im.convert("RGB"), dtype=np.uint8)
                if px.ndim == 2:
                    px = px[:, :, None]
    except Exception as e:  # noqa: BLE001
        return None, f"a damaged {name} image: {e}"
    return px, None


def to_channels(px: np.ndarray, c: int) -> np.ndarray:
    """The worker's ``toChannels``: alpha composited on black, grey by BT.601 integer luma."""
    frm = px.shape[2]
    if frm == c:
        return px
    d = px.astype(np.int64)
    alpha = frm in (2, 4)
    colour = frm >= 3
    r = d[:, :, 0]
    g, b = (d[:, :, 1], d[:, :, 2]) if colour else (r, r)
    if alpha:
        a = d[:, :, frm - 1]
        keep = a == 255
        r = np.where(keep, r, (r * a + 127) // 255)
        g = np.where(keep, g, (g * a + 127) // 255)
        b = np.where(keep, b, (b * a + 127) // 255)
    if c == 1:
        out = ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16) if colour else r
        return out.astype(np.uint8)[:, :, None]
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def _axis_weights(n: int, m: int, frm: int, cnt: int):
    scale = n / m
    fs = max(scale, 1.0)
    support = fs
    taps = math.ceil(support) * 2 + 1
    start = np.zeros(cnt, np.int64)
    size = np.zeros(cnt, np.int64)
    w = np.zeros((cnt, taps), np.float32)
    for i in range(cnt):
        center = (frm + i + 0.5) * scale
        lo = max(0, math.floor(center - support + 0.5))
        hi = min(n, math.floor(center + support + 0.5))
        tri = []
        total = 0.0
        for x in range(lo, hi):
            t = abs((x - center + 0.5) / fs)
            v = 1 - t if t < 1 else 0.0
            tri.append(v)
            total += v
        for k, v in enumerate(tri):
            w[i, k] = v / total
        start[i], size[i] = lo, hi - lo
    return start, size, w


def _resize_into(src: np.ndarray, sw: int, sh: int, c: int, rw: int, rh: int, top: int, left: int, oh: int, ow: int, out: np.ndarray, at_y: int, at_x: int) -> None:
    """The worker's ``resizeInto``, with JS's float64 sums and float32 stores in the same order."""
    if rw == sw and rh == sh:
        out[at_y:at_y + oh, at_x:at_x + ow] = src[top:top + oh, left:left + ow]
        return
    ys, yn, yw = _axis_weights(sh, rh, top, oh)
    xs, xn, xw = _axis_weights(sw, rw, left, ow)
    row_lo = int(ys[0])
    row_hi = int(ys[oh - 1] + yn[oh - 1])
    rows = src[row_lo:row_hi].astype(np.float64)  # [r, sw, c]
    tmp = np.zeros((row_hi - row_lo, ow, c), np.float64)
    for x in range(ow):
        acc = np.zeros((row_hi - row_lo, c), np.float64)
        for k in range(int(xn[x])):
            acc = acc + np.float64(xw[x, k]) * rows[:, int(xs[x]) + k, :]
        tmp[:, x, :] = acc
    tmp = tmp.astype(np.float32).astype(np.float64)
    for y in range(oh):
        acc = np.zeros((ow, c), np.float32)
        for k in range(int(yn[y])):
            acc = (acc.astype(np.float64) + np.float64(yw[y, k]) * tmp[int(ys[y]) + k - row_lo]).astype(np.float32)
        v = np.floor(acc.astype(np.float64) + 0.5)
        out[at_y + y, at_x:at_x + ow] = np.clip(v, 0, 255).astype(np.uint8)


def geometry(sw: int, sh: int, height: int, width: int, fit: str) -> Dict[str, int]:
    H, W = height, width
    js_round = lambda v: math.floor(v + 0.5)
    if fit == "stretch":
        return dict(rw=W, rh=H, top=0, left=0, oh=H, ow=W, atY=0, atX=0)
    if fit == "crop":
        s = max(H / sh, W / sw)
        rh = max(H, js_round(sh * s))
        rw = max(W, js_round(sw * s))
        return dict(rw=rw, rh=rh, top=(rh - H) // 2, left=(rw - W) // 2, oh=H, ow=W, atY=0, atX=0)
    s = min(H / sh, W / sw)
    rh = min(H, max(1, js_round(sh * s)))
    rw = min(W, max(1, js_round(sw * s)))
    return dict(rw=rw, rh=rh, top=0, left=0, oh=rh, ow=rw, atY=(H - rh) // 2, atX=(W - rw) // 2)


def prepare_image(px: np.ndarray, height: int, width: int, channels: int, fit: str) -> np.ndarray:
    """Decoded pixels [h, w, k] → uint8 [height, width, channels], as the TS worker's ``fit``."""
    src = to_channels(px, channels)
    sh, sw = src.shape[:2]
    g = geometry(sw, sh, height, width, fit)
    out = np.zeros((height, width, channels), np.uint8)
    _resize_into(src, sw, sh, channels, g["rw"], g["rh"], g["top"], g["left"], g["oh"], g["ow"], out, g["atY"], g["atX"])
    return out


def decode_image_files(files: Sequence[str], height: int, width: int, channels: int, fit: str) -> np.ndarray:
    """Image files prepared as training prepares an image folder's (``decodeImageFiles``): float32 [n, h, w, c] in [0, 1]."""
    out = np.zeros((len(files), height, width, channels), np.float32)
    for k, f in enumerate(files):
        px, why = _decode(f)
        if px is None:
            raise DataError(f"The file {f} is {why}. nnc reads PNG and JPEG images (by their content, whatever their names).", {"file": f})
        out[k] = (prepare_image(px, height, width, channels, fit).astype(np.float64) / 255).astype(np.float32)
    return out


def load_image_folder(config: Dict[str, Any], input_shape: Sequence[int], base_dir: str, classes: Optional[int]) -> Dataset:
    train_dir = resolve(base_dir, config["train"])
    height, width, channels = image_input(input_shape, f"`images({quote(config['train'])})`", train_dir)
    fit = config.get("fit", "crop")
    bad_files = config.get("badFiles", "error")
    tdir, tclasses = _list_classes(config["train"], base_dir, "training")
    class_names = [c for c, _, _ in tclasses]
    if classes is not None and len(class_names) > classes:
        names = ", ".join(quote(n) for n in class_names[:12]) + (f", … ({count(len(class_names))} in all)" if len(class_names) > 12 else "")
        raise DataError(f"The training image folder {quote(config['train'])} has {count(len(class_names))} class folders ({names}), but the model distinguishes only {count(classes)} classes. Give its last layer {count(len(class_names))} units, or remove the class folders it should not learn.", {"file": tdir})
    label_of = {n: i for i, n in enumerate(class_names)}
    splits = [("training", config["train"], tdir, tclasses)]
    for role in ("validation", "test"):
        path = config.get(role)
        if path is None:
            continue
        d, cl = _list_classes(path, base_dir, role)
        extra = next((c for c in cl if c[0] not in label_of), None)
        if extra is not None:
            names = ", ".join(quote(n) for n in class_names[:12]) + (f", … ({count(len(class_names))} in all)" if len(class_names) > 12 else "")
            raise DataError(f"The {role} image folder {quote(path)} has a class folder {quote(extra[0])} that the training folder {quote(config['train'])} does not have. The classes are the training folder's sub-folders ({names}); a {role} folder may have fewer, not others. Rename or remove {quote(os.path.join(path, extra[0]))}.", {"file": extra[1]})
        splits.append((role, path, d, cl))
    skipped: List[Tuple[str, str]] = []
    parts: Dict[str, Samples] = {}
    sizes: List[str] = []
    for role, path, d, cl in splits:
        xs, labels, shown = [], [], []
        per_class = [0] * len(class_names)
        had = {}
        for cname, cdir, files in cl:
            had[cname] = len(files)
            for f in files:
                file = os.path.join(cdir, f)
                s = os.path.join(path, cname, f)
                px, why = _decode(file)
                if px is None:
                    if bad_files != "skip":
                        raise DataError(f"{quote(s)} in the {role} images is {why}. nnc reads PNG and JPEG images (by their content, whatever their names). Remove the file, or write `bad_files: skip` in `images(…)` to skip files that are not images and count them.", {"file": file})
                    skipped.append((s, why))
                    continue
                xs.append(prepare_image(px, height, width, channels, fit))
                labels.append(label_of[cname])
                shown.append(s)
                per_class[label_of[cname]] += 1
        if role == "training":
            for cname, cdir, files in cl:
                if per_class[label_of[cname]] == 0:
                    n_had = had[cname]
                    why = "holds no files" if n_had == 0 else f"holds no images: its {plural(n_had, 'file')} {'was' if n_had == 1 else 'were'} skipped as not images"
                    raise DataError(f"The class folder {quote(os.path.join(path, cname))} {why}. Every class needs training images: add some, or remove the folder (the classes are the training folder's sub-folders).", {"file": cdir})
        elif not xs:
            raise DataError(f"The {role} image folder {quote(path)} holds no images.", {"file": resolve(base_dir, path)})
        x = (np.stack(xs).astype(np.float64) / 255).astype(np.float32)
        parts[role] = Samples(x=x, labels=np.asarray(labels, np.int32), streamed=True, shown=shown)
        sizes.append(f"{'' if role == 'training' else f'{role} {quote(path)}: '}{plural(len(xs), 'image')}")
    first = f" (the first: {quote(skipped[0][0])}, {skipped[0][1].split(':')[0]})" if skipped else ""
    description = (f"images {quote(config['train'])} ({'; '.join(sizes)}; {plural(len(class_names), 'class', 'classes')}; fitted to {height}x{width}x{channels} by {fit})"
                   + (f"; {plural(len(skipped), 'file')} skipped: not images{first}" if skipped else ""))
    ds = Dataset(train=parts["training"], classes=classes if classes is not None else len(class_names), class_names=class_names, description=description,
                 preprocess={"kind": "image", "height": height, "width": width, "channels": channels, "fit": fit})
    ds.validation, ds.test = parts.get("validation"), parts.get("test")
    return ds
