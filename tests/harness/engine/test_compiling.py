"""``search.compile_options``: inductor's options, nested tables flattened, every mistake one line."""
from __future__ import annotations

import pytest
import torch

import harness.engine.compiling as compiling
from harness import UserError
from harness.engine.compiling import compiled, inductor_options
from harness.experiment.checks import resolve_config
from harness.plugin.manager import get_plugins


def test_nested_tables_become_inductor_s_dotted_names():
    assert inductor_options({"cpp_wrapper": True, "cpp": {"simdlen": 256, "threads": 1}}) == {
        "cpp_wrapper": True, "cpp.simdlen": 256, "cpp.threads": 1}
    assert inductor_options({"cpp.simdlen": 256}) == {"cpp.simdlen": 256}


@pytest.mark.parametrize(("options", "message"), [
    ({"cpp_wraper": True}, "inductor has no option 'cpp_wraper' (did you mean cpp_wrapper?)"),
    ({"cpp": {"simdlne": 256}}, "inductor has no option 'cpp.simdlne' (did you mean cpp.simdlen?)"),
])
def test_an_unknown_option_is_named_with_the_close_one(options, message):
    with pytest.raises(UserError) as caught:
        inductor_options(options)
    assert caught.value.message == f"search.compile_options: {message}"


def test_the_options_reach_torch_compile_flattened(monkeypatch):
    calls = []
    monkeypatch.setattr(compiling.torch, "compile", lambda model, **kwargs: calls.append((model, kwargs)) or "compiled")
    model = torch.nn.Linear(2, 2)
    assert compiled(model, "inductor", None, {"cpp_wrapper": True, "cpp": {"simdlen": 256}}) == "compiled"
    assert calls == [(model, {"backend": "inductor", "options": {"cpp_wrapper": True, "cpp.simdlen": 256}})]
    compiled(model, "inductor", "max-autotune", None)
    assert calls[-1][1] == {"backend": "inductor", "mode": "max-autotune"}


@pytest.mark.parametrize(("backend", "mode", "options", "message"), [
    (None, None, {"cpp_wrapper": True}, "search.compile_options needs search.compile"),
    ("aot_eager", None, {"cpp_wrapper": True}, "inductor's options, and search.compile is 'aot_eager'"),
    ("inductor", "max-autotune", {"cpp_wrapper": True}, "compile_mode and search.compile_options both set"),
    ("inductor", None, {"cpp_wrapper": "yes"}, "search.compile_options: Unexpected type of attr cpp_wrapper"),
])
def test_options_that_cannot_apply_are_user_errors(backend, mode, options, message):
    with pytest.raises(UserError, match=message):
        compiled(torch.nn.Linear(2, 2), backend, mode, options)


def test_runs_without_the_setting_keep_their_config_and_so_their_folder():
    config = resolve_config(get_plugins(), "darts", "synthetic", {})
    assert "compile_options" not in config["search"]
    given = resolve_config(get_plugins(), "darts", "synthetic", {"search": {"compile_options": {"cpp_wrapper": True}}})
    assert given["search"]["compile_options"] == {"cpp_wrapper": True}
