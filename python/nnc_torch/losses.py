"""The recipe's losses and accuracy with TF.js's formulas (src/runtime/train.ts `lossFunction`,
`accuracy`), on the model's output as TF.js gives it (probabilities after softmax/sigmoid).

- crossentropy, sparse_crossentropy: tf.metrics.categoricalCrossentropy — the output divided by
  its sum over the last axis, clipped to [ε, 1−ε] (ε = 1e-7, TF.js's float32 epsilon), then
  −Σ y·log p over the last axis; the mean over every other axis (samples, and pixels).
- binary_crossentropy: tf.metrics.binaryCrossentropy — p clipped to [ε, 1−ε], turned into the
  logit log(p/(1−p)) and fed to the stable sigmoid cross-entropy max(x,0) − x·z + log1p(e^−|x|);
  the mean over the last axis, then over the rest.
- mse, mae: the mean over every element (tf.losses.meanSquaredError, absoluteDifference).
- hinge: tf.losses.hingeLoss — labels 0/1 mapped to ±1, relu(1 − y·p), the mean over every element.
"""
import torch

EPSILON = 1e-7


def categorical_crossentropy(y, p):
    p = p / p.sum(dim=-1, keepdim=True)
    p = p.clamp(EPSILON, 1 - EPSILON)
    return -(y * torch.log(p)).sum(dim=-1).mean()


def binary_crossentropy(y, p):
    p = p.clamp(EPSILON, 1 - EPSILON)
    x = torch.log(p / (1 - p))
    per = torch.relu(x) - x * y + torch.log1p(torch.exp(-x.abs()))
    return per.mean(dim=-1).mean()


def mse(y, p):
    return ((p - y) ** 2).mean()


def mae(y, p):
    return (p - y).abs().mean()


def hinge(y, p):
    s = 2 * y - 1
    return torch.relu(1 - s * p).mean()


LOSSES = {
    "crossentropy": categorical_crossentropy,
    "sparse_crossentropy": categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "mse": mse,
    "mae": mae,
    "hinge": hinge,
}


def loss_function(name):
    """The loss by the recipe's name: f(targets, outputs) → a scalar tensor (the batch's mean)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError("unknown loss %r" % name) from None


def accuracy(y, p, units, loss):
    """Fraction of rows whose predicted class matches: one unit cut at 0.5 (hinge: at 0), else argmax."""
    if units == 1:
        cut = 0.0 if loss == "hinge" else 0.5
        return ((p > cut).float() == (y > 0.5).float()).float().mean()
    return (p.argmax(dim=-1) == y.argmax(dim=-1)).float().mean()
