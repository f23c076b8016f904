"""Registries: clashes are named, unknown names list the known ones, factories return their kind."""
from __future__ import annotations

import pytest

from harness import ArchOptimizer, Method, Options, UserError
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
    with pytest.raises(UserError, match="registered twice \\(by plugin first and by plugin second\\); rename it in the one you maintain"):
        registry.add("good", GoodOptimizer, "second")
    with pytest.raises(UserError, match="unknown optimizer 'goood' \\(did you mean good\\?\\); known: good"):
        registry.get("goood")
    with pytest.raises(UserError, match="registered an invalid optimizer"):
        registry.add("", GoodOptimizer, "third")


def test_a_component_validates_its_options_when_built():
    with pytest.raises(UserError, match="unknown option 'momentum'; known: lr"):
        GoodOptimizer({"momentum": 0.9})
    assert GoodOptimizer({"lr": "0.5"}).options.lr == 0.5


def test_lazy_targets_are_imported_only_when_created(tmp_path, monkeypatch):
    module = tmp_path / "lazy_component_for_test.py"
    module.write_text("from test_registry import GoodOptimizer\nIMPORTED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("optimizer", ArchOptimizer)
    registry.add("lazy", "lazy_component_for_test:GoodOptimizer", "tests", "later", options=GoodOptimizer.Options)
    import sys

    assert "lazy_component_for_test" not in sys.modules
    assert registry.get("lazy").listed_options is GoodOptimizer.Options
    assert registry.get("lazy").options is GoodOptimizer.Options
    assert "lazy_component_for_test" not in sys.modules
    assert isinstance(registry.create("lazy", {"lr": 0.3}), GoodOptimizer)
    assert "lazy_component_for_test" in sys.modules


def test_options_declared_at_registration_must_be_the_class_own():
    """Registered lazily with its options model but the class left without it, every option the user
    sets would be refused as unknown, blamed on the --set flags."""

    class Forgetful(GoodOptimizer):
        Options = ArchOptimizer.Options

    registry = Registry("optimizer", ArchOptimizer)
    registry.add("forgetful", Forgetful, "noisy", options=GoodOptimizer.Options)
    with pytest.raises(UserError, match="optimizer 'forgetful' from plugin noisy is registered with options="
                                        "GoodOptimizer.Options, but its class reads NoOptions: set `Options = "
                                        "GoodOptimizer.Options` in class Forgetful"):
        registry.create("forgetful", {"lr": 0.2})


def test_a_class_missing_part_of_its_contract_is_named_before_it_is_built():
    class Unfinished(ArchOptimizer):
        def attach(self, space, supernet, run):
            raise NotImplementedError

    registry = Registry("optimizer", ArchOptimizer)
    registry.add("unfinished", Unfinished, "noisy")
    message = ("optimizer 'unfinished' from plugin noisy: class Unfinished does not implement load_state_dict, logits, "
               "mixing_weights, state_dict; fix or update that plugin")
    for check in (lambda: registry.check_complete("unfinished"), lambda: registry.create("unfinished", {})):
        with pytest.raises(UserError) as error:
            check()
        assert error.value.message == message


def test_broken_lazy_targets_are_named():
    registry = Registry("optimizer", ArchOptimizer)
    with pytest.raises(UserError, match="registered an invalid optimizer .*: the factory must be callable or "
                                        "'module:Name', got a str;"):
        registry.add("bad", "not a target", "tests")
    with pytest.raises(UserError, match="registered an invalid optimizer .*: options must be a harness.Options "
                                        "subclass, got <class 'dict'>"):
        registry.add("bad", GoodOptimizer, "tests", options=dict)
    methods = Registry("method", Method)
    with pytest.raises(UserError, match="got a Method \\(a method is registered as `lambda: Method\\(...\\)`\\)"):
        methods.add("m", Method("m", "darts", "argmax", "a preset"), "tests")
    registry.add("missing", "no_such_module_here:Thing", "broken-plugin")
    with pytest.raises(UserError, match="optimizer 'missing' from plugin broken-plugin: cannot import no_such_module_here:Thing"):
        registry.create("missing", {})
    assert registry.get("missing").listed_options is None
