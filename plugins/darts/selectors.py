"""The simplest selectors: argmax of the optimizer's scores, and a uniform random draw."""
from __future__ import annotations

from typing import Any

from harness import Selection, SelectionContext, Selector, UserError


class OptionlessSelector(Selector):
    """A selector with nothing to configure: a stray ``selector.options`` key is a mistake."""

    name = ""

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        if self.options:
            raise UserError(f"selector {self.name} takes no options, got {', '.join(sorted(self.options))}; "
                            "drop the --set selector.options... settings or pick another --selector")


class ArgmaxSelector(OptionlessSelector):
    """Per edge, the op with the largest architecture score (DARTS' discretization)."""

    name = "argmax"

    def select(self, ctx: SelectionContext) -> Selection:
        return Selection(ctx.space.argmax(ctx.optimizer.logits()))


class RandomSelector(OptionlessSelector):
    """A uniformly random architecture from the space (the random-search baseline of one sample)."""

    name = "random"

    def select(self, ctx: SelectionContext) -> Selection:
        return Selection(ctx.space.sample(ctx.rng))
