"""Registries: clashes are named, unknown names list the known ones, factories return their kind."""
from __future__ import annotations

import pytest

from harness import ArchOptimizer, Options, UserError
from harness.plugin.registry import Registry


class GoodOptimizer(ArchOptimizer):
    class Options(Options):
        lr: float = 0.1

    def attach(self, space, supernet, run):
        raise NotImplementedError

    def mixing_weights(self, training):
        raise NotImplementedError

    def logits(self):
        raise NotImplementedError

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        return None


def test_create_checks_the_product_type():
    registry = Registry("optimizer", ArchOptimizer)
    registry.add("good", GoodOptimizer, "tests")
    registry.add("bad", lambda options: object(), "broken-plugin")
    assert isinstance(registry.create("good", {"lr": 0.2}), GoodOptimizer)
    with pytest.raises(UserError, match="optimizer 'bad' from plugin broken-plugin returned a object, "
                                        "not a harness.ArchOptimizer"):
        registry.create("bad", {})


def test_entries_expose_a_declared_options_model():
    registry = Registry("optimizer", ArchOptimizer)
    registry.add("good", GoodOptimizer, "tests")
    registry.add("lambda", lambda options: GoodOptimizer(options), "tests")
    assert registry.get("good").options is GoodOptimizer.Options
    assert registry.get("lambda").options is None


def test_clashes_and_unknown_names_are_one_clear_line():
    registry = Registry("optimizer", ArchOptimizer)
    registry.add("good", GoodOptimizer, "first")
    with pytest.raises(UserError, match="registered twice \\(by first and by second\\)"):
        registry.add("good", GoodOptimizer, "second")
    with pytest.raises(UserError, match="unknown optimizer 'goood'; known: good"):
        registry.get("goood")
    with pytest.raises(UserError, match="registered an invalid optimizer"):
        registry.add("", GoodOptimizer, "third")


def test_a_component_validates_its_options_when_built():
    with pytest.raises(UserError, match="unknown option 'momentum'; known: lr"):
        GoodOptimizer({"momentum": 0.9})
    assert GoodOptimizer({"lr": "0.5"}).options.lr == 0.5
