"""Training-free selection (BaLeNAS §3.3, Eq. 8): score K candidate architectures at
initialization with a zero-cost proxy and keep the best.

``source = "posterior"`` (BaLeNAS-TF) draws K α from the optimizer's distribution
(``sample_logits``) and takes the argmax of each; ``source = "uniform"`` (zero-cost NAS,
Abdelfattah et al.) draws K uniformly random architectures and needs no supernet.
Duplicates are scored once. Every candidate network is initialized from the same seed,
so its score depends on the architecture only, not on where it appears in the draw.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from harness import Architecture, DivergedError, Selection, SelectionContext, Selector, to_float
from plugins.balenas.options import ProxySelectorOptions


class ProxySelector(Selector):
    """The best of K candidates by a training-free proxy (``ctx.run.plugins["proxy"]``)."""

    name = "proxy"
    Options = ProxySelectorOptions
    options: ProxySelectorOptions

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)

    def select(self, ctx: SelectionContext) -> Selection:
        name = self.options.proxy
        proxy = ctx.run.plugins["proxy"].create(name)
        generator = torch.Generator().manual_seed(int(ctx.rng.integers(2 ** 62)))
        init_seed = int(ctx.rng.integers(2 ** 62))
        drawn = self._candidates(ctx, generator)
        counts: dict[Architecture, int] = {}
        for arch in drawn:
            counts[arch] = counts.get(arch, 0) + 1
        inputs, targets = self._batch(ctx, generator)
        loss_fn = nn.CrossEntropyLoss()
        rows, scores = [], []
        for arch, count in counts.items():
            score = self._score(ctx, proxy, arch, init_seed, inputs, targets, loss_fn)
            scores.append(score)
            rows.append({"arch": ctx.space.format(arch), "score": score, "draws": count, **ctx.query(arch)})
        ranked = [score if math.isfinite(score) else -math.inf for score in scores]
        best = max(range(len(ranked)), key=ranked.__getitem__)
        if ranked[best] == -math.inf:
            raise DivergedError(f"proxy {name} gave no finite score for any of the {len(counts)} candidates")
        details = {"proxy": name, "source": self.options.source, "k": len(drawn), "unique": len(counts),
                   "best_score": scores[best], "best_draws": rows[best]["draws"]}
        return Selection(list(counts)[best], details, rows)

    def _candidates(self, ctx: SelectionContext, generator: torch.Generator) -> list[Architecture]:
        k = self.options.k
        if self.options.source == "uniform":
            return [ctx.space.sample(ctx.rng) for _ in range(k)]
        return [ctx.space.argmax(logits) for logits in ctx.optimizer.sample_logits(k, generator)]

    def _batch(self, ctx: SelectionContext, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A random batch of the search-train half, normalized, on the run's device."""
        train = ctx.data.train
        index = torch.randperm(len(train), generator=generator)[:self.options.batch_size]
        index = index.to(train.images.device)
        return to_float(train.images[index], ctx.dataset).to(ctx.run.device), train.labels[index].to(ctx.run.device)

    @staticmethod
    def _score(ctx: SelectionContext, proxy: Any, arch: Architecture, init_seed: int, inputs: torch.Tensor,
               targets: torch.Tensor, loss_fn: nn.Module) -> float:
        """The proxy's score of ``arch``'s network freshly initialized from ``init_seed``.

        The global RNG is forked so that scoring leaves the run's random state untouched.
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            network = ctx.space.build_network(arch, ctx.dataset, ctx.run.config["space"]["options"])
            return float(proxy.score(network.to(ctx.run.device), inputs, targets, loss_fn))
