"""``search.compile``: the supernet through ``torch.compile``, its backend, mode and options checked
first, so that a mistake is one line before any work.

``search.compile_options`` are inductor's (``torch.compile(options=...)``). On CPUs two of them
make the C = 8, N = 1 search step about 15 % faster (README, "Speed"): ``cpp_wrapper`` (the
compiled graph's wrapper in C++ instead of Python) and ``cpp.simdlen = 256`` (AVX2-wide vectors,
which 8 float channels fill, where AVX-512 ones are left half empty).
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

import torch

from harness.api.errors import UserError
from harness.api.supernet import Supernet

MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def compiled(supernet: Supernet, backend: str | None, mode: str | None,
             options: Mapping[str, Any] | None = None) -> Callable[..., torch.Tensor]:
    """``supernet`` through ``torch.compile`` with ``backend`` (``inductor`` needs a C++ compiler
    on CPUs; ``aot_eager`` needs none), or itself when ``backend`` is None. ``mode`` is
    torch.compile's (``reduce-overhead`` uses CUDA graphs on GPUs); ``options`` inductor's."""
    if backend is None:
        for name, value in (("compile_mode", mode), ("compile_options", options)):
            if value is not None:
                raise UserError(f"search.{name} needs search.compile (a torch.compile backend, e.g. inductor)")
        return supernet
    import torch._dynamo

    known = torch._dynamo.list_backends(exclude_tags=())
    if backend not in known:
        raise UserError(f"search.compile = {backend!r} is not a torch.compile backend here; known: {', '.join(known)}")
    if mode is not None and mode not in MODES:
        raise UserError(f"search.compile_mode = {mode!r}; expected one of {', '.join(MODES)}")
    if options is None:
        return torch.compile(supernet, backend=backend, mode=mode)
    if backend != "inductor":
        raise UserError(f"search.compile_options are inductor's options, and search.compile is {backend!r}")
    if mode is not None:
        raise UserError("search.compile_mode and search.compile_options both set: torch.compile takes one or the "
                        "other (a mode is a set of options)")
    flat = inductor_options(options)
    try:
        return torch.compile(supernet, backend=backend, options=flat)
    except RuntimeError as error:  # a value of the wrong type: "Unexpected type of attr cpp_wrapper, got str ..."
        raise UserError(f"search.compile_options: {str(error).splitlines()[0]}") from None


def inductor_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Nested tables as inductor's dotted names (``{"cpp": {"simdlen": 256}}`` → ``{"cpp.simdlen": 256}``,
    what ``--set search.compile_options.cpp.simdlen=256`` gives), each checked against inductor's config."""
    import torch._inductor.config as inductor_config

    known = inductor_config.get_config_copy()
    flat: dict[str, Any] = {}

    def add(table: Mapping[str, Any], prefix: str) -> None:
        for key, value in table.items():
            name = f"{prefix}{key}"
            if isinstance(value, Mapping) and name not in known:
                add(value, f"{name}.")
            elif name in known:
                flat[name] = value
            else:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise UserError(f"search.compile_options: inductor has no option {name!r}{hint}")

    add(options, "")
    return flat
