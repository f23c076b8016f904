"""The one options mechanism: defaults, coercion of --set values, and one-line errors."""
from __future__ import annotations

from typing import Literal

import pytest
from pydantic import Field

from harness import NoOptions, Options, UserError, describe_options, parse_options


class StepOptions(Options):
    steps: int = Field(3, ge=1, description="how many")
    rate: float = Field(0.1, gt=0, description="how fast")
    mode: Literal["a", "b"] = Field("a", description="which")
    betas: tuple[float, float] = (0.5, 0.999)
    cap: int | None = None


def test_defaults_fill_in_and_strings_from_the_command_line_are_coerced():
    parsed = parse_options(StepOptions, {"steps": "7", "rate": "1e-3", "betas": [0.1, 0.2]}, "optimizer x")
    assert (parsed.steps, parsed.rate, parsed.mode, parsed.betas, parsed.cap) == (7, 1e-3, "a", (0.1, 0.2), None)
    assert parse_options(StepOptions, None, "optimizer x") == StepOptions()


@pytest.mark.parametrize("raw, message", [
    ({"stepz": 1}, "optimizer x: unknown option 'stepz' (did you mean steps?); known: steps, rate, mode, betas, cap"),
    ({"steps": 0}, "optimizer x: option 'steps' = 0: input should be greater than or equal to 1"),
    ({"steps": 2.5}, "option 'steps' = 2.5: input should be a valid integer"),
    ({"rate": "fast"}, "option 'rate' = 'fast': input should be a valid number"),
    ({"mode": "c"}, "option 'mode' = 'c': input should be 'a' or 'b'"),
    ({"betas": [0.1]}, "option 'betas.1'"),
])
def test_every_mistake_is_one_line_naming_the_option(raw, message):
    with pytest.raises(UserError) as caught:
        parse_options(StepOptions, raw, "optimizer x")
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_a_broken_default_is_blamed_on_the_plugin_not_on_the_settings():
    class Broken(Options):
        noise_std: float = "big"  # type: ignore[assignment]

    with pytest.raises(UserError) as caught:
        parse_options(Broken, {}, "optimizer noisy")
    assert caught.value.message == ("optimizer noisy: the default of option 'noise_std' = 'big': input should be a "
                                    "valid number, unable to parse string as a number: the options model "
                                    "test_a_broken_default_is_blamed_on_the_plugin_not_on_the_settings.<locals>.Broken "
                                    "of this component is wrong, not the settings; fix or update its plugin")
    with pytest.raises(UserError, match="option 'noise_std' = 'x': .* \\(set with --set"):
        parse_options(Broken, {"noise_std": "x"}, "optimizer noisy")


def test_components_without_options_reject_any():
    with pytest.raises(UserError, match="selector y: takes no options, got 'k'"):
        parse_options(NoOptions, {"k": 1}, "selector y")


def test_a_non_table_is_refused():
    with pytest.raises(UserError, match="options must be a table"):
        parse_options(StepOptions, 5, "optimizer x")


def test_options_are_read_only():
    parsed = StepOptions()
    with pytest.raises(Exception, match="frozen"):
        parsed.steps = 4


def test_description_rows_use_the_spelling_set_takes():
    rows = {name: (default, text) for name, default, text in describe_options(StepOptions)}
    assert rows["steps"] == ("3", "how many")
    assert rows["betas"][0] == "[0.5, 0.999]" and rows["cap"][0] == "null" and rows["mode"][0] == '"a"'
