"""The DARTS CNN candidate operations (Liu et al. 2019), plus RobustDARTS' ``noise`` op.

Followed: quark0/darts ``cnn/operations.py`` and ruocwang/darts-pt ``sota/cnn/operations.py``
(which adds ``noise``). Every conv op is ReLU → Conv → BN; ``affine`` is False in the
search network and True in evaluation networks. A stride-2 ``skip_connect`` (a reduction
cell's edge from a cell input) is a ``FactorizedReduce``. In the search network each
pooling op is followed by a non-affine BatchNorm (``model_search.py``'s ``MixedOp``), so
that its scale is comparable with the conv ops'; evaluation networks have no such BN.
``none`` has no module: it adds nothing to a node's sum.
"""
from __future__ import annotations

import torch
from torch import nn

NONE = "none"
DARTS_OPS: tuple[str, ...] = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                              "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
"""DARTS' ``PRIMITIVES``, in the reference's order."""
NOISE = "noise"
KNOWN_OPS: tuple[str, ...] = (*DARTS_OPS, NOISE)


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int, affine: bool) -> None:
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


class DilConv(nn.Sequential):
    """ReLU → depthwise dilated conv → pointwise conv → BN."""

    def __init__(self, c: int, kernel_size: int, stride: int, padding: int, dilation: int, affine: bool) -> None:
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c, c, kernel_size, stride=stride, padding=padding, dilation=dilation, groups=c,
                                   bias=False),
                         nn.Conv2d(c, c, 1, bias=False),
                         nn.BatchNorm2d(c, affine=affine))


class SepConv(nn.Sequential):
    """Two stacked depthwise-separable blocks (ReLU → depthwise → pointwise → BN); only the first strides."""

    def __init__(self, c: int, kernel_size: int, stride: int, padding: int, affine: bool) -> None:
        super().__init__(DilConv(c, kernel_size, stride, padding, 1, affine),
                         DilConv(c, kernel_size, 1, padding, 1, affine))


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing every other pixel: two stride-2 1×1 convs, one shifted by a pixel."""

    def __init__(self, c_in: int, c_out: int, affine: bool) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Noise(nn.Module):
    """RobustDARTS S4's harmful op: standard normal noise of the (strided) input's shape."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn_like(x[:, :, ::self.stride, ::self.stride])


def build_op(name: str, channels: int, stride: int, affine: bool, search: bool) -> nn.Module:
    """One candidate op; ``search`` adds the BN after pooling that the search network has."""
    if name == "max_pool_3x3" or name == "avg_pool_3x3":
        pool: nn.Module = (nn.MaxPool2d(3, stride=stride, padding=1) if name == "max_pool_3x3"
                           else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False))
        return nn.Sequential(pool, nn.BatchNorm2d(channels, affine=False)) if search else pool
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, affine)
    if name == "sep_conv_3x3":
        return SepConv(channels, 3, stride, 1, affine)
    if name == "sep_conv_5x5":
        return SepConv(channels, 5, stride, 2, affine)
    if name == "dil_conv_3x3":
        return DilConv(channels, 3, stride, 2, 2, affine)
    if name == "dil_conv_5x5":
        return DilConv(channels, 5, stride, 4, 2, affine)
    if name == NOISE:
        return Noise(stride)
    raise ValueError(f"no module for DARTS op '{name}'; ops with modules: {', '.join(KNOWN_OPS[1:])}")
