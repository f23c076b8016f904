"""The fused supernet cell: the ops that read the same node share their work.

Per source node: one ReLU, one ``conv2d`` for the 1×1 convolutions of every edge leaving
the node and one for their 3×3 convolutions (kernels concatenated along the output
channels), one ``batch_norm`` each with the mixing weights folded into its per-channel
scale, and one 3×3 window sum for average pooling. Outputs, gradients and BatchNorm
statistics equal ``cells.MixedCell`` (the test oracle), including its treatment of
exactly-zero 2-D weights, without reading them on the host: a zero weight gets a zero
gradient and leaves its op's running statistics where they were.

The cell holds exactly ``MixedCell``'s modules (same parameters, names and state dict,
so checkpoints, weight inheritance, parameter counts and PGNAS's per-kernel gates are
unchanged); only ``forward`` differs, reading their tensors directly.
"""
from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from plugins.nb201.cells import MixedCell
from plugins.nb201.encoding import EDGES, NUM_NODES, OP_NAMES
from plugins.nb201.ops import ReLUConvBN

SKIP, CONV1, CONV3, POOL = (OP_NAMES.index(name) for name in
                            ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"))
CONVS = (("nor_conv_1x1", CONV1), ("nor_conv_3x3", CONV3))


def outgoing(source: int) -> list[int]:
    """Edges leaving ``source``, by increasing target node."""
    return [edge for edge, (_, origin) in enumerate(EDGES) if origin == source]


class FusedMixedCell(MixedCell):
    """``MixedCell`` with the work of the ops reading one node shared (same maths, same modules).

    ``vmapped`` is set while the cell runs once per seed under ``torch.func.vmap`` (stacked
    seeds, ``NB201Supernet.stacked``): running statistics are then written back one tensor at a
    time.
    """

    vmapped = False

    def __init__(self, channels: int, affine: bool, track_running_stats: bool) -> None:
        super().__init__(channels, affine, track_running_stats)
        self.channels = channels
        for source in range(NUM_NODES - 1):
            self.register_buffer(f"edges_from_{source}", torch.tensor(outgoing(source)), persistent=False)

    def forward(self, x: torch.Tensor, weights: torch.Tensor,  # type: ignore[override]
                mask: torch.Tensor | None) -> torch.Tensor:
        """``weights`` ``(edges, ops)`` or ``(batch, edges, ops)``; ``mask`` (``(edges, ops)`` bool, 2-D
        weights only) marks the ops that count, as ``MixedCell`` skips the others."""
        if mask is not None:
            weights = weights * mask  # a skipped op's weight gets no gradient, as in MixedCell
        incoming: list[list[torch.Tensor]] = [[] for _ in range(NUM_NODES)]
        node = x
        for source in range(NUM_NODES - 1):
            if source > 0:
                node = _sum(incoming[source])
            targets = range(source + 1, NUM_NODES)
            for target, output in zip(targets, self._from_source(source, node, weights, mask)):
                incoming[target].append(output)
        return _sum(incoming[-1])

    def _from_source(self, source: int, x: torch.Tensor, weights: torch.Tensor,
                     mask: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        """The mixed output of every edge leaving ``source``, by increasing target node."""
        edges = outgoing(source)
        index = getattr(self, f"edges_from_{source}")
        k, c = len(edges), self.channels
        mine = weights.index_select(-2, index)  # (..., k, ops)
        per_example = weights.dim() == 3
        h = F.relu(x)
        mixed: torch.Tensor | None = None
        for name, op in CONVS:
            modules = [cast(ReLUConvBN, self.edges[edge][name]) for edge in edges]  # type: ignore[index]
            convs = [cast(nn.Conv2d, m[1]) for m in modules]
            norms = [cast(nn.BatchNorm2d, m[2]) for m in modules]
            conv_weights = mine[..., op].repeat_interleave(c, dim=-1)  # (..., kC)
            z = F.conv2d(h, torch.cat([conv.weight for conv in convs]), padding=convs[0].padding)
            z = self._batch_norm(z, norms, None if per_example else conv_weights,
                                 None if mask is None else mask.index_select(0, index)[:, op])
            if per_example:
                z = z * conv_weights[:, :, None, None]
            mixed = z if mixed is None else mixed + z
        assert mixed is not None  # CONVS is not empty
        batch, _, height, width = mixed.shape
        out = mixed.view(batch, k, c, height, width)
        shape = (-1, k, 1, 1, 1) if per_example else (1, k, 1, 1, 1)
        skip = mine[..., SKIP].reshape(shape)
        pool = mine[..., POOL].reshape(shape) * _inverse_window_counts(height, width, x.device, x.dtype)
        out = torch.addcmul(out, skip, x.unsqueeze(1))
        out = torch.addcmul(out, pool, _window_sums(x).unsqueeze(1))
        return out.unbind(1)

    def _batch_norm(self, z: torch.Tensor, norms: list[nn.BatchNorm2d], scale: torch.Tensor | None,
                    active: torch.Tensor | None) -> torch.Tensor:
        """The BatchNorms of ``norms`` over their concatenated channels, times ``scale`` per channel.

        Running statistics are gathered into one tensor and written back per op; with
        ``active`` (one bool per op) the inactive ops keep theirs.
        """
        first = norms[0]
        gamma: torch.Tensor | None
        beta: torch.Tensor | None
        if first.affine:
            gamma = torch.cat([norm.weight for norm in norms])
            beta = torch.cat([norm.bias for norm in norms])
            if scale is not None:  # fold the shared mixing weights into the affine map
                gamma, beta = gamma * scale, beta * scale
        else:
            gamma, beta = scale, None
        if not first.track_running_stats:
            return F.batch_norm(z, None, None, gamma, beta, True, 0.0, first.eps)
        means: list[torch.Tensor] = [norm.running_mean for norm in norms]  # type: ignore[misc]
        variances: list[torch.Tensor] = [norm.running_var for norm in norms]  # type: ignore[misc]
        mean, var = torch.cat(means), torch.cat(variances)
        if not self.training:
            return F.batch_norm(z, mean, var, gamma, beta, False, 0.0, first.eps)
        old = torch.stack([mean, var]) if active is not None else None
        assert first.momentum is not None  # NB201's BatchNorms use exponential averaging
        out = F.batch_norm(z, mean, var, gamma, beta, True, first.momentum, first.eps)
        new = torch.stack([mean, var])
        counters: list[torch.Tensor] = [norm.num_batches_tracked for norm in norms]  # type: ignore[misc]
        targets, values = means + variances, list(new.view(2, len(norms), -1).flatten(0, 1).unbind())
        if self.vmapped:  # the _foreach ops have no vmap rule; active is None here (no mask under vmap)
            for counter in counters:
                counter.add_(1)
            for target, value in zip(targets, values):
                target.copy_(value)
        elif active is None:
            torch._foreach_add_(counters, 1)
            torch._foreach_copy_(targets, values)
        else:
            assert old is not None
            kept = torch.where(active.repeat_interleave(self.channels), new, old)
            torch._foreach_add_(counters, list(active.long().unbind()))
            torch._foreach_copy_(targets, list(kept.view(2, len(norms), -1).flatten(0, 1).unbind()))
        return out


def _sum(terms: list[torch.Tensor]) -> torch.Tensor:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _window_sums(x: torch.Tensor) -> torch.Tensor:
    """Sum over each 3×3 window (zero padding): a depthwise convolution, much faster on CPUs than avg_pool2d."""
    channels = x.shape[1]
    return F.conv2d(x, x.new_ones(channels, 1, 3, 3), padding=1, groups=channels)


def _inverse_window_counts(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """1 / (pixels inside each 3×3 window), what ``avg_pool2d(count_include_pad=False)`` divides by."""
    return 1.0 / _window_sums(torch.ones(1, 1, height, width, device=device, dtype=dtype))[0, 0]
