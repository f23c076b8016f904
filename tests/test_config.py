"""Config resolution order, --set parsing and seed lists."""
import pytest

from harness import Method, UserError
from harness.config import config_hash, parse_assignment, resolve
from harness.seeds import parse_seeds


def test_seed_ranges_and_lists():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,2,5") == [0, 2, 5]
    assert parse_seeds("1-2,7") == [1, 2, 7]
    for bad in ("", "a", "3-1", "-1"):
        with pytest.raises(UserError):
            parse_seeds(bad)


def test_set_parses_json_values_into_nested_keys():
    assert parse_assignment("optimizer.options.samples=3") == {"optimizer": {"options": {"samples": 3}}}
    assert parse_assignment("search.amp=true") == {"search": {"amp": True}}
    assert parse_assignment("label=BaLeNAS M=3") == {"label": "BaLeNAS M=3"}
    with pytest.raises(UserError):
        parse_assignment("novalue")


def test_resolution_order_defaults_profile_method_user():
    method = Method("m", "darts", "argmax", defaults={"search": {"epochs": 100, "lr": 0.1}})
    config = resolve(method, "digits", {"search": {"lr": 0.2}})
    assert config["space"]["options"] == {"C": 8, "N": 1}  # small profile for digits
    assert config["search"]["epochs"] == 10  # the small profile caps a method's epochs
    assert resolve(method, "digits", {"search": {"epochs": 30}})["search"]["epochs"] == 30  # user wins
    no_search = Method("z", "fixed", "random", defaults={"search": {"epochs": 0}})
    assert resolve(no_search, "cifar10", {"search": {"epochs": 50}})["search"]["epochs"] == 0
    assert config["search"]["lr"] == 0.2  # user over method
    full = resolve(method, "cifar10", {})
    assert full["space"]["options"] == {"C": 16, "N": 5} and full["benchmarks"]["names"] == ["nb201"]


def test_unknown_search_setting_is_a_clear_error():
    with pytest.raises(UserError, match="unknown search setting"):
        resolve(Method("m", "darts", "argmax"), "digits", {"search": {"epoch": 3}})


def test_config_hash_ignores_seed_and_device():
    config = resolve(Method("m", "darts", "argmax"), "digits", {})
    assert config_hash({**config, "seed": 1, "device": "cpu"}) == config_hash({**config, "seed": 2, "device": "cuda"})
    assert config_hash(config) != config_hash({**config, "label": "other"})


def test_overriding_the_selector_drops_the_methods_selector_options():
    method = Method("m", "darts", "pt", defaults={"selector": {"options": {"mode": "magnitude"}}})
    assert resolve(method, "digits", {"selector": {"name": "argmax"}})["selector"]["options"] == {}
    assert resolve(method, "digits", {})["selector"]["options"] == {"mode": "magnitude"}
