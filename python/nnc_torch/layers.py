"""
The modules generated PyTorch code builds a network from, where PyTorch's own differ from what
TensorFlow.js computes for the same spec. Generated modules keep tensors channels-first inside
(NCHW for images, NCL for sequences) and take and give the spec's channels-last shapes at their
edges; everything here works on the channels-first layout.

Each module says which TF.js computation it matches:
- ``BatchNorm``: Keras/TF.js batch normalisation (moving variance from the biased batch
  variance, ``momentum`` as Keras's, i.e. PyTorch's 1 - momentum).
- ``LayerNorm``: TF.js ``layerNormalization({axis: -1})``: over the channels of each position.
- ``AvgPoolSame``: TF's ``same`` average pooling, whose padding may be one larger at the
  bottom/right, and whose averages leave padded cells out.
- ``UpsampleBilinear``: TF.js ``upSampling2d({interpolation: "bilinear"})``: source coordinate =
  output / factor (ONNX's "asymmetric"), not PyTorch's half-pixel centres.
- ``Flatten`` / ``Reshape``: in channels-last order, so a dense layer after them sees the
  features in the order TF.js gives them (and the same weights fit both).
"""
import torch
import torch.nn.functional as F
from torch import nn


def to_channels_first(x):
    """[N, H, W, C] → [N, C, H, W]; [N, L, C] → [N, C, L]; vectors unchanged."""
    if x.dim() == 4:
        return x.permute(0, 3, 1, 2).contiguous()
    if x.dim() == 3:
        return x.permute(0, 2, 1).contiguous()
    return x


def to_channels_last(x):
    """The inverse of ``to_channels_first``."""
    if x.dim() == 4:
        return x.permute(0, 2, 3, 1)
    if x.dim() == 3:
        return x.permute(0, 2, 1)
    return x


class Flatten(nn.Module):
    """TF.js ``flatten``: the values in channels-last order."""

    def forward(self, x):
        return to_channels_last(x).reshape(x.shape[0], -1)


class Reshape(nn.Module):
    """TF.js ``reshape({targetShape})``: the channels-last values laid out anew."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(int(d) for d in shape)

    def forward(self, x):
        y = to_channels_last(x).reshape((x.shape[0],) + self.shape)
        return to_channels_first(y)

    def extra_repr(self):
        return "shape=%s" % (self.shape,)


class Crop(nn.Module):
    """TF.js ``cropping2D``: (top, bottom, left, right) rows and columns removed."""

    def __init__(self, sides):
        super().__init__()
        self.sides = tuple(int(s) for s in sides)

    def forward(self, x):
        t, b, l, r = self.sides
        h, w = x.shape[2], x.shape[3]
        return x[:, :, t:h - b, l:w - r]

    def extra_repr(self):
        return "sides=%s" % (self.sides,)


class ChannelPad(nn.Module):
    """nnc's zero-channel shortcut (ResNet option A): ``channels`` zero channels appended."""

    def __init__(self, channels):
        super().__init__()
        self.channels = int(channels)

    def forward(self, x):
        shape = list(x.shape)
        shape[1] = self.channels
        return torch.cat([x, x.new_zeros(shape)], 1)

    def extra_repr(self):
        return "channels=%d" % self.channels


def _pool_dims(x):
    return 2 if x.dim() == 4 else 1


class AvgPoolSame(nn.Module):
    """Average pooling with TF's uneven ``same`` padding (``pad`` in F.pad's order): a window the
    border cuts averages only the values it covers."""

    def __init__(self, size, stride, pad):
        super().__init__()
        self.size = tuple(size)
        self.stride = tuple(stride)
        self.pad = tuple(pad)

    def _avg(self, x):
        if x.dim() == 4:
            return F.avg_pool2d(x, self.size, self.stride)
        return F.avg_pool1d(x, self.size[0], self.stride[0])

    def forward(self, x):
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
        covered = self._avg(F.pad(ones, self.pad))
        return self._avg(F.pad(x, self.pad)) / covered

    def extra_repr(self):
        return "size=%s, stride=%s, pad=%s" % (self.size, self.stride, self.pad)


class Separable(nn.Module):
    """A separable conv: a depthwise conv (``multiplier`` filters per input channel, no bias) then a 1x1 conv."""

    def __init__(self, channels, filters, kernel, multiplier=1, stride=1, padding=0, dilation=1, bias=True):
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels * multiplier, kernel, stride=stride, padding=padding, dilation=dilation, groups=channels, bias=False)
        self.pointwise = nn.Conv2d(channels * multiplier, filters, 1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class GlobalPool(nn.Module):
    """Global average or max pooling over every spatial axis: [N, C, ...] → [N, C]."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def forward(self, x):
        dims = tuple(range(2, x.dim()))
        if self.mode == "max":
            return torch.amax(x, dim=dims)
        return torch.mean(x, dim=dims)

    def extra_repr(self):
        return self.mode


class UpsampleNearest(nn.Module):
    """Each row repeated ``size[0]`` times and each column ``size[1]`` times."""

    def __init__(self, size):
        super().__init__()
        self.size = tuple(int(s) for s in size)

    def forward(self, x):
        return x.repeat_interleave(self.size[0], dim=2).repeat_interleave(self.size[1], dim=3)


class UpsampleBilinear(nn.Module):
    """TF.js's bilinear resize without half-pixel centres: output (i, j) samples input (i/sh, j/sw)."""

    def __init__(self, size):
        super().__init__()
        self.size = tuple(int(s) for s in size)

    @staticmethod
    def _axis(n, s, device, dtype):
        src = torch.arange(n * s, device=device, dtype=torch.float64) / s
        lo = torch.floor(src).long().clamp(max=n - 1)
        hi = (lo + 1).clamp(max=n - 1)
        frac = (src - lo.to(torch.float64)).to(dtype)
        return lo, hi, frac

    def forward(self, x):
        h, w = x.shape[2], x.shape[3]
        r0, r1, fr = self._axis(h, self.size[0], x.device, x.dtype)
        c0, c1, fc = self._axis(w, self.size[1], x.device, x.dtype)
        top = x[:, :, r0, :]
        bottom = x[:, :, r1, :]
        rows = top + (bottom - top) * fr.view(1, 1, -1, 1)
        left = rows[:, :, :, c0]
        right = rows[:, :, :, c1]
        return left + (right - left) * fc.view(1, 1, 1, -1)


class BatchNorm(nn.Module):
    """Keras's batch normalisation over the channel axis (dim 1) of any rank."""

    def __init__(self, channels, momentum=0.99, epsilon=1e-3):
        super().__init__()
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x):
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.epsilon)
        n = x.numel() // x.shape[1]
        if n < 2:
            # PyTorch's kernel refuses one value per channel; TF.js normalises it to 0 (variance 0).
            shape = [1, -1] + [1] * (x.dim() - 2)
            dims = [0] + list(range(2, x.dim()))
            mean = x.mean(dim=dims)
            var = ((x - mean.view(shape)) ** 2).mean(dim=dims)
            y = (x - mean.view(shape)) * (torch.rsqrt(var + self.epsilon) * self.weight).view(shape) + self.bias.view(shape)
        else:
            # One fused kernel each way. With momentum 1 the scratch statistics become the batch's
            # mean and unbiased variance; Keras's moving variance takes the biased one.
            mean = torch.zeros_like(self.running_mean)
            unbiased = torch.ones_like(self.running_var)
            y = F.batch_norm(x, mean, unbiased, self.weight, self.bias, True, 1.0, self.epsilon)
            var = unbiased * ((n - 1) / n)  # not in place: autograd keeps the kernel's inputs
        with torch.no_grad():
            decay = 1.0 - self.momentum
            self.running_mean.sub_((self.running_mean - mean.detach()) * decay)
            self.running_var.sub_((self.running_var - var.detach()) * decay)
        return y

    def extra_repr(self):
        return "%d, momentum=%g, epsilon=%g" % (self.weight.shape[0], self.momentum, self.epsilon)


class LayerNorm(nn.Module):
    """TF.js ``layerNormalization({axis: -1})``: each position normalised over its channels."""

    def __init__(self, channels, epsilon=1e-3):
        super().__init__()
        self.epsilon = float(epsilon)
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        shape = [1, -1] + [1] * (x.dim() - 2)
        mean = x.mean(dim=1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=1, keepdim=True)
        return (x - mean) * torch.rsqrt(var + self.epsilon) * self.weight.view(shape) + self.bias.view(shape)

    def extra_repr(self):
        return "%d, epsilon=%g" % (self.weight.shape[0], self.epsilon)


class GroupNorm(nn.Module):
    """nnc's group normalisation: channels split into ``groups`` contiguous groups, each normalised with its positions."""

    def __init__(self, groups, channels, epsilon=1e-5):
        super().__init__()
        self.groups = int(groups)
        self.epsilon = float(epsilon)
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        g = x.reshape(x.shape[0], self.groups, -1)
        mean = g.mean(dim=2, keepdim=True)
        var = ((g - mean) ** 2).mean(dim=2, keepdim=True)
        y = ((g - mean) * torch.rsqrt(var + self.epsilon)).reshape(x.shape)
        shape = [1, -1] + [1] * (x.dim() - 2)
        return y * self.weight.view(shape) + self.bias.view(shape)

    def extra_repr(self):
        return "%d, %d, epsilon=%g" % (self.groups, self.weight.shape[0], self.epsilon)


class PReLU(nn.Module):
    """A slope per channel (dim 1), starting at 0 as Keras's PReLU does."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        shape = [1, -1] + [1] * (x.dim() - 2)
        return torch.where(x >= 0, x, x * self.weight.view(shape))


def maxout(x, k):
    """The maximum of each ``k`` consecutive channels (dim 1)."""
    shape = list(x.shape)
    return x.reshape([shape[0], shape[1] // k, k] + shape[2:]).amax(dim=2)


def hard_sigmoid(x):
    """relu6(x + 3) / 6, PyTorch's Hardsigmoid and Keras 3's."""
    return F.relu6(x + 3.0) / 6.0


def hard_swish(x):
    """x · relu6(x + 3) / 6."""
    return x * F.relu6(x + 3.0) / 6.0


def multiply(*xs):
    """Elementwise product, broadcasting size-1 axes."""
    y = xs[0]
    for x in xs[1:]:
        y = y * x
    return y


def add(*xs):
    y = xs[0]
    for x in xs[1:]:
        y = y + x
    return y
