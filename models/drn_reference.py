"""Reference PyTorch definition of the DRN backbones and the DRNSeg head.

The module layout (and so every state-dict key) follows the DRNSeg model of
the fyu/drn releases: the backbone's children sit in ``base`` (an
nn.Sequential, so keys read ``base.<index>...``), followed by the 1x1
classifier ``seg`` and the fixed bilinear upsampler ``up``.  The converter
uses it to check checkpoints, the tests use it to produce reference outputs.

Supported architectures: drn_d_22, drn_d_38 (arch D) and drn_c_26 (arch C);
``width`` scales every channel count.
"""

import math

import torch
from torch import nn

CHANNELS = (16, 32, 64, 128, 256, 512, 512, 512)

ARCHS = {  # name -> (arch letter, blocks per level)
    "drn_d_22": ("D", (1, 1, 2, 2, 2, 2, 1, 1)),
    "drn_d_38": ("D", (1, 1, 3, 4, 6, 3, 1, 1)),
    "drn_c_26": ("C", (1, 1, 2, 2, 2, 2, 1, 1)),
}


def scaled_channels(width=1.0):
    """Channel counts scaled by width, rounded half away from zero, at least 1."""
    return tuple(max(1, int(math.floor(c * width + 0.5))) for c in CHANNELS)


def conv(inplanes, planes, kernel, stride=1, dilation=1):
    """Bias-free convolution whose padding keeps the size (for odd kernels)."""
    return nn.Conv2d(inplanes, planes, kernel, stride=stride, padding=dilation * (kernel // 2),
                     dilation=dilation, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, plus an optional identity/projection shortcut."""

    def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=(1, 1), residual=True):
        super().__init__()
        self.conv1 = conv(inplanes, planes, 3, stride, dilation[0])
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv(planes, planes, 3, 1, dilation[1])
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.residual = residual

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.residual:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class _Builder:
    """Tracks the running input channel count while the levels are created."""

    def __init__(self, inplanes):
        self.inplanes = inplanes

    def residual_level(self, planes, blocks, stride=1, dilation=1, new_level=True, residual=True):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(conv(self.inplanes, planes, 1, stride), nn.BatchNorm2d(planes))
        if dilation == 1:
            first = (1, 1)
        else:
            first = (dilation // 2 if new_level else dilation, dilation)
        layers = [BasicBlock(self.inplanes, planes, stride, downsample, first, residual)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(BasicBlock(planes, planes, dilation=(dilation, dilation), residual=residual))
        return nn.Sequential(*layers)

    def conv_level(self, planes, convs, stride=1, dilation=1):
        layers = []
        for i in range(convs):
            layers += [conv(self.inplanes, planes, 3, stride if i == 0 else 1, dilation),
                       nn.BatchNorm2d(planes), nn.ReLU(inplace=True)]
            self.inplanes = planes
        return nn.Sequential(*layers)


def backbone_children(arch_name, width=1.0):
    """The ordered backbone modules of arch_name (without pooling/fc)."""
    if arch_name not in ARCHS:
        raise ValueError(f"unknown architecture {arch_name!r}; known: {', '.join(ARCHS)}")
    arch, n = ARCHS[arch_name]
    c = scaled_channels(width)
    b = _Builder(c[0])
    if arch == "D":
        stem = [nn.Sequential(conv(3, c[0], 7), nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True)),
                b.conv_level(c[0], n[0], stride=1),
                b.conv_level(c[1], n[1], stride=2)]
    else:
        stem = [conv(3, c[0], 7), nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True),
                b.residual_level(c[0], n[0], stride=1),
                b.residual_level(c[1], n[1], stride=2)]
    middle = [b.residual_level(c[2], n[2], stride=2),
              b.residual_level(c[3], n[3], stride=2),
              b.residual_level(c[4], n[4], dilation=2, new_level=False),
              b.residual_level(c[5], n[5], dilation=4, new_level=False)]
    if arch == "D":
        tail = [b.conv_level(c[6], n[6], dilation=2), b.conv_level(c[7], n[7], dilation=1)]
    else:
        tail = [b.residual_level(c[6], n[6], dilation=2, new_level=False, residual=False),
                b.residual_level(c[7], n[7], dilation=1, new_level=False, residual=False)]
    return stem + middle + tail


def bilinear_kernel(size):
    """size x size bilinear interpolation kernel used to initialise the upsampler."""
    f = math.ceil(size / 2)
    centre = (2 * f - 1 - f % 2) / (2.0 * f)
    ramp = 1 - (torch.arange(size, dtype=torch.float64) / f - centre).abs()
    return torch.outer(ramp, ramp).float()


class DRNSeg(nn.Module):
    """DRN backbone + 1x1 classifier + fixed 8x bilinear upsampling, log-softmax output."""

    def __init__(self, arch_name, classes, width=1.0):
        super().__init__()
        self.base = nn.Sequential(*backbone_children(arch_name, width))
        for m in self.base.modules():
            if isinstance(m, nn.Conv2d):
                fan = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / fan))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
        out_channels = scaled_channels(width)[-1]
        self.seg = nn.Conv2d(out_channels, classes, 1, bias=True)
        self.seg.weight.data.normal_(0, math.sqrt(2.0 / classes))
        self.seg.bias.data.zero_()
        self.up = nn.ConvTranspose2d(classes, classes, 16, stride=8, padding=4, output_padding=0,
                                     groups=classes, bias=False)
        self.up.weight.data.copy_(bilinear_kernel(16).expand_as(self.up.weight))
        self.up.weight.requires_grad = False

    def forward(self, x):
        return torch.log_softmax(self.up(self.seg(self.base(x))), dim=1)


def exported_state_dict(model):
    """The model's state dict without the BatchNorm num_batches_tracked counters."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
