"""One typed options mechanism for every component (optimizers, selectors, spaces, benchmarks).

A component declares its options once, as a pydantic model (``class Options(harness.Options)``
with defaults, types, ranges and a description per field). The harness validates a
config's ``options`` table against it before any work starts, ``nasbench list`` shows it,
and a mistake (an unknown key, a wrong type, a value out of range) is one line saying
which option, what was given and what is allowed. pydantic was chosen over hand-written
checks because it gives exactly this (``extra="forbid"``, coercion of ``--set`` strings,
JSON schema) and is a well-kept library.
"""
from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.api.errors import UserError


class Options(BaseModel):
    """Base of every component's options: unknown keys are errors, instances are read-only, and
    numbers are finite (an infinite learning rate would pass every range and fail only mid-run)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, arbitrary_types_allowed=True,
                              allow_inf_nan=False)


AdamBeta = Annotated[float, Field(ge=0.0, lt=1.0)]
"""An option holding one of Adam's betas: a decay rate in [0, 1) (``tuple[AdamBeta, AdamBeta]``)."""


class NoOptions(Options):
    """For components with nothing to configure: any key given is a mistake."""


OptionsT = TypeVar("OptionsT", bound=Options)


def describe_options(model: type[BaseModel]) -> list[tuple[str, str, str]]:
    """(name, default as JSON, description) per option: what ``nasbench list`` shows, in the
    spelling ``--set`` takes."""
    rows = []
    for name, field in model.model_fields.items():
        default = "required" if field.is_required() else json.dumps(field.get_default(call_default_factory=True),
                                                                     default=str)
        rows.append((name, default, field.description or ""))
    return rows


def _explain(error: Mapping[str, Any], model: type[Options]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(options)"
    if error["type"] == "extra_forbidden":
        if not model.model_fields:
            return f"takes no options, got '{location}'"
        close = difflib.get_close_matches(location, list(model.model_fields), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown option '{location}'{hint}; known: {', '.join(model.model_fields)}"
    given = error.get("input")
    message = error["msg"].removeprefix("Value error, ")  # a validator's own words need no pydantic label
    return f"option '{location}' = {given!r}: {message[0].lower()}{message[1:]}"


def parse_options(model: type[OptionsT], raw: Mapping[str, Any] | Options | None, where: str,
                  set_with: str = "--set <section>.options.<name>=<value>",
                  plugins: Any | None = None) -> OptionsT:
    """``raw`` validated against ``model``; ``where`` names the component (e.g. "optimizer darts"),
    ``set_with`` how a user sets its options. With ``plugins`` (when a config is checked), a
    validator can look a name up in them: ``info.context["plugins"]``."""
    if isinstance(raw, model):
        return raw
    if isinstance(raw, Options):
        raw = raw.model_dump()
    if raw is not None and not isinstance(raw, Mapping):
        raise UserError(f"{where}: options must be a table of name = value, got {raw!r}")
    try:
        return model.model_validate(dict(raw or {}), context=None if plugins is None else {"plugins": plugins})
    except ValidationError as exc:
        errors = exc.errors()
        given = set(raw or {})
        if all(error["loc"] and error["loc"][0] not in given and error["type"] != "missing" for error in errors):
            problems = "; ".join(f"the default of {_explain(error, model)}" for error in errors)
            raise UserError(f"{where}: {problems}: the options model {model.__qualname__} of this "
                            "component is wrong, not the settings; fix or update its plugin") from None
        problems = "; ".join(_explain(error, model) for error in errors)
        raise UserError(f"{where}: {problems} (set with {set_with})") from None
