"""NAS-Bench-201's candidate operations and its residual reduction block (Dong & Yang, ICLR 2020).

The ``none`` op is the zero tensor. Multiplied by any weight it adds nothing to a node's
sum, so the networks hold no module for it and simply leave it out of the sum.
"""
from __future__ import annotations

import torch
from torch import nn

from plugins.nb201.encoding import OP_NAMES


class ReLUConvBN(nn.Sequential):
    """ReLU → Conv (no bias, 'same' padding) → BN: the ``nor_conv`` ops and the residual block's halves.

    The ReLU is not in place because a supernet feeds the same tensor to every op of an edge.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )


def build_op(name: str, channels: int, affine: bool, track_running_stats: bool) -> nn.Module:
    """A stride-1, ``channels``→``channels`` candidate op (every NB201 cell edge is of this kind)."""
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, affine=affine, track_running_stats=track_running_stats)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, affine=affine, track_running_stats=track_running_stats)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"no module for NB201 op '{name}'; ops with modules: {', '.join(OP_NAMES[1:])}")


class ResNetBasicBlock(nn.Module):
    """The stride-2 residual block between NB201's stages; it doubles the width.

    Residual path: ReLUConvBN 3×3 stride 2 → ReLUConvBN 3×3; shortcut: 2×2 average pool
    then a bias-free 1×1 conv. Its BatchNorms are affine in the supernet too, as in the
    reference implementation.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(nn.AvgPool2d(kernel_size=2, stride=2),
                                      nn.Conv2d(c_in, c_out, kernel_size=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))
