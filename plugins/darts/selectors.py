"""The simplest selectors: argmax of the optimizer's scores, and a uniform random draw."""
from __future__ import annotations

from harness import Selection, SelectionContext, Selector


class ArgmaxSelector(Selector):
    """Per edge, the op with the largest architecture score (DARTS' discretization)."""

    name = "argmax"

    def select(self, ctx: SelectionContext) -> Selection:
        return Selection(ctx.space.argmax(ctx.optimizer.logits()))


class RandomSelector(Selector):
    """A uniformly random architecture from the space (the random-search baseline of one sample)."""

    name = "random"

    def select(self, ctx: SelectionContext) -> Selection:
        return Selection(ctx.space.sample(ctx.rng))
