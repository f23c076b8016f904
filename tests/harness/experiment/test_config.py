"""Config resolution order, --set parsing and seed lists."""
import pytest

from harness import Method, UserError
from harness.experiment.checks import resolve_config
from harness.experiment.config import DatasetProfile, config_hash, parse_assignment, resolve
from harness.experiment.seeds import parse_seeds
from harness.plugin.manager import get_plugins

SMALL = DatasetProfile({"threads": 1, "space": {"options": {"C": 8, "N": 1}}}, max_epochs=10)


def test_seed_ranges_and_lists():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,2,5") == [0, 2, 5]
    assert parse_seeds("1-2,7") == [1, 2, 7]
    for bad in ("", "a", "-1", "٣", "1_0", "٣-5"):
        with pytest.raises(UserError, match="expected a range like 0-3|at least one non-negative seed"):
            parse_seeds(bad)
    with pytest.raises(UserError, match="the range 3-1 runs backwards; write 1-3"):
        parse_seeds("0,3-1")
    with pytest.raises(UserError, match="'0-3,2,0': seeds 0, 2 given more than once"):
        parse_seeds("0-3,2,0")
    with pytest.raises(UserError, match="seed 1 given more than once"):
        parse_seeds("1,1")


def test_set_parses_json_values_into_nested_keys():
    assert parse_assignment("optimizer.options.samples=3") == {"optimizer": {"options": {"samples": 3}}}
    assert parse_assignment("search.amp=true") == {"search": {"amp": True}}
    assert parse_assignment("label=BaLeNAS M=3") == {"label": "BaLeNAS M=3"}
    with pytest.raises(UserError):
        parse_assignment("novalue")


@pytest.mark.parametrize("text, value", [
    ("[cpu,cpu]", ["cpu", "cpu"]),  # what a shell leaves of ["cpu","cpu"]
    ("[nb201, nb101]", ["nb201", "nb101"]),
    ("[1, two, true]", [1, "two", True]),
    ("[0,2]", [0, 2]),  # JSON already
    ("[]", []),
    ("[a,[b]]", "[a,[b]]"),  # nested bare words stay text, for the options check to refuse
    ("[a", "[a"),
])
def test_set_reads_a_list_of_bare_words_as_a_list(text, value):
    assert parse_assignment(f"benchmarks.names={text}") == {"benchmarks": {"names": value}}


def test_resolution_order_defaults_profile_method_user():
    method = Method("m", "darts", "argmax", defaults={"search": {"epochs": 100, "lr": 0.1}})
    config = resolve(method, "digits", {"search": {"lr": 0.2}}, SMALL)
    assert config["space"]["options"] == {"C": 8, "N": 1}  # the dataset's profile
    assert config["search"]["epochs"] == 10  # the profile caps a method's epochs
    assert resolve(method, "digits", {"search": {"epochs": 30}}, SMALL)["search"]["epochs"] == 30  # user wins
    no_search = Method("z", "fixed", "random", defaults={"search": {"epochs": 0}})
    assert resolve(no_search, "cifar10", {"search": {"epochs": 50}})["search"]["epochs"] == 0
    assert config["search"]["lr"] == 0.2  # user over method
    full = resolve(method, "cifar10", {})
    assert full["space"]["options"] == {} and full["benchmarks"]["names"] == ["nb201"]
    assert full["search"]["epochs"] == 100


def test_dataset_plugins_give_their_profiles_and_options_are_filled_in():
    plugins = get_plugins()
    digits = resolve_config(plugins, "darts", "digits", {})
    assert digits["space"]["options"]["C"] == 8 and digits["space"]["options"]["N"] == 1
    assert digits["search"]["epochs"] == 10 and digits["threads"] == 1
    cifar = resolve_config(plugins, "darts", "cifar10", {})
    assert cifar["space"]["options"]["C"] == 16 and cifar["space"]["options"]["N"] == 5  # the space's defaults
    assert cifar["optimizer"]["options"]["lr"] == 3e-4 and cifar["search"]["epochs"] == 50


@pytest.mark.parametrize("setting, message", [
    ({"optimizer": {"options": {"lr": "abc"}}}, "optimizer darts: option 'lr' = 'abc'"),
    ({"optimizer": {"options": {"nosuch": 1}}}, "unknown option 'nosuch'; known: order, lr"),
    ({"optimizer": {"options": {"order": 3}}}, "option 'order' = 3"),
    ({"space": {"options": {"C": 0}}}, "search space nb201: option 'C' = 0"),
    ({"benchmarks": {"options": {"retrain": {"epochs": -1}}}}, "benchmark retrain: option 'epochs' = -1"),
])
def test_bad_component_options_are_one_line_errors_before_any_work(setting, message):
    with pytest.raises(UserError) as caught:
        resolve_config(get_plugins(), "darts", "digits", setting)
    assert message in caught.value.message and "\n" not in caught.value.message


def test_unknown_search_setting_is_a_clear_error():
    with pytest.raises(UserError, match="unknown setting 'search.epoch' \\(did you mean search.epochs\\?\\); known in search: epochs"):
        resolve(Method("m", "darts", "argmax"), "digits", {"search": {"epoch": 3}})


def test_config_hash_ignores_seed_and_device():
    config = resolve(Method("m", "darts", "argmax"), "digits", {})
    assert config_hash({**config, "seed": 1, "device": "cpu"}) == config_hash({**config, "seed": 2, "device": "cuda"})
    assert config_hash(config) != config_hash({**config, "label": "other"})


def test_overriding_the_selector_drops_the_methods_selector_options():
    method = Method("m", "darts", "pt", defaults={"selector": {"options": {"mode": "magnitude"}}})
    assert resolve(method, "digits", {"selector": {"name": "argmax"}})["selector"]["options"] == {}
    assert resolve(method, "digits", {})["selector"]["options"] == {"mode": "magnitude"}


def test_another_selector_is_another_row_unless_labelled():
    method = Method("m", "darts", "pt")
    assert resolve(method, "digits", {})["label"] == "m"
    assert resolve(method, "digits", {"selector": {"name": "pt"}})["label"] == "m"
    assert resolve(method, "digits", {"selector": {"name": "proxy"}})["label"] == "m+proxy"
    assert resolve(method, "digits", {"selector": {"name": "proxy"}, "label": "ours"})["label"] == "ours"


def test_a_profile_option_the_space_does_not_declare_is_not_forced_on_it():
    plugins = get_plugins()
    nb101 = resolve_config(plugins, "random", "digits", {"space": {"name": "nb101"}})
    assert "C" not in nb101["space"]["options"] and "N" not in nb101["space"]["options"]
    with pytest.raises(UserError, match="search space nb101: unknown option 'C'"):
        resolve_config(plugins, "random", "digits", {"space": {"name": "nb101", "options": {"C": 8}}})


def test_a_plugins_own_bad_settings_name_the_plugin_not_the_users_flags():
    from harness.experiment.config import DatasetProfile, resolve

    typo = Method("noisy", "darts", "argmax", "a preset", {"optimiser": {"name": "darts"}})
    with pytest.raises(UserError, match="^the defaults of method noisy: unknown setting 'optimiser' \\(did you mean "
                                        "optimizer\\?\\); .* the plugin that provides it is wrong, not the settings$"):
        resolve(typo, "synthetic", {})
    with pytest.raises(UserError, match="^the profile of dataset blobs: setting 'search.epochs' = -1"):
        resolve(Method("darts", "darts", "argmax", "a preset"), "blobs", {}, DatasetProfile({"search": {"epochs": -1}}))
    with pytest.raises(UserError, match="setting 'search.epochs' = -1: .*; fix the flag, the --set value"):
        resolve(Method("darts", "darts", "argmax", "a preset"), "synthetic", {"search": {"epochs": -1}})

