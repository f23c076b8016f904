"""The supernet contract, apart from the other contracts because it is a ``torch.nn.Module`` (importing
torch takes seconds, and the CLI's quick commands must not pay for it)."""
from __future__ import annotations

import torch
from torch import nn


class Supernet(nn.Module):
    """A weight-sharing network whose forward mixes every candidate op on every edge.

    ``weights`` has shape ``(num_edges, num_ops)`` or, for per-example gates,
    ``(batch, num_edges, num_ops)``. An entry that is exactly zero in a 2-D ``weights``
    lets the implementation skip that op (PT masks ops this way; discretized edges are
    one-hot rows).
    """

    stackable: bool = False
    """True when ``forward`` also runs under ``torch.func.vmap`` over seeds (stacked seeds): no
    reading values on the host, no in-place ``_foreach`` ops. The harness sets ``stacked`` on the
    copy it runs that way, so an implementation can take its vmap-friendly path there."""
    stacked: bool = False

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError
