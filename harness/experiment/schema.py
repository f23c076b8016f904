"""The harness's own settings as a schema: the ``search`` section and the top-level keys.

Plugins' ``options`` tables are checked against their own models (``checks.py``); this
module checks everything around them — known keys, types and ranges — so
``--set search.epochs=abc``, ``--threads 0`` or ``--set nosuch.key=1`` is one line before
any work, in ``nasbench run`` and in a suite's ``--dry-run`` alike.
"""
from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from harness.api.errors import UserError

MAX_EPOCHS = 10_000
"""More search epochs than any published schedule by two orders of magnitude: a typo."""


class Section(BaseModel):
    """Strict: ``--set search.epochs=true`` is not 1 epoch, nor ``lr=inf`` a learning rate."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class SearchSettings(Section):
    """The supernet training loop (DARTS / NAS-Bench-201 defaults live in ``config.DEFAULTS``)."""

    epochs: int = Field(ge=0, le=MAX_EPOCHS, description="search epochs")
    batch_size: int = Field(ge=1, le=1 << 20, description="training batch size (per half)")
    lr: float = Field(gt=0, description="initial weight learning rate (cosine)")
    lr_min: float = Field(ge=0, description="final weight learning rate")
    momentum: float = Field(ge=0, lt=1, description="SGD momentum")
    weight_decay: float = Field(ge=0, description="SGD weight decay")
    grad_clip: float = Field(gt=0, description="gradient norm clip")
    eval_batch_size: int = Field(ge=1, le=1 << 20, description="evaluation batch size")
    eval_batches: int | None = Field(ge=1, description="evaluate on this many batches (null: all)")
    max_steps_per_epoch: int | None = Field(ge=1, description="cap on steps per epoch (null: a full pass)")
    amp: StrictBool = Field(description="bfloat16 autocast (CUDA, or CPUs with bfloat16 support)")
    channels_last: StrictBool = Field(description="channels-last memory format for the supernet and batches")
    compile: StrictStr | None = Field(description="torch.compile backend (e.g. inductor, aot_eager); null: eager")
    compile_mode: StrictStr | None = Field(description="torch.compile mode (e.g. reduce-overhead); null: default")
    compile_options: dict[StrictStr, Any] | None = Field(
        None, description="inductor's torch.compile options (e.g. compile_options.cpp_wrapper=true); null: none")
    cuda_graphs: StrictBool = Field(description="replay each search step from a CUDA graph (CUDA only; DARTS 1st order, "
                                    "fixed α)")
    cudnn_benchmark: StrictBool = Field(description="let cuDNN time its convolution algorithms and keep the fastest "
                                        "(CUDA; faster, not bitwise reproducible across runs)")


class Component(Section):
    name: StrictStr | None
    options: dict[str, Any] = Field(default_factory=dict)


class DatasetSection(Section):
    name: StrictStr
    data_dir: StrictStr | None = Field(None, description="folder holding the dataset's files (--data-dir)")
    image_size: int | None = Field(None, ge=1, description="box-downsample images to this side (must divide it)")
    train_size: int | None = Field(None, ge=1, description="a fixed class-balanced subset of the training images")


class BenchmarksSection(Section):
    names: list[StrictStr]
    options: dict[StrictStr, dict[str, Any]] = Field(default_factory=dict)


class HarnessConfig(Section):
    """A resolved config: every top-level key the harness knows."""

    space: Component
    dataset: DatasetSection
    optimizer: Component
    selector: Component
    benchmarks: BenchmarksSection
    search: SearchSettings
    method: StrictStr
    label: StrictStr = Field(min_length=1)
    threads: int | None = Field(None, ge=1, le=4096, description="CPU threads for torch (--threads)")
    track_hessian: StrictBool = False
    seed: int | None = Field(None, ge=0, lt=2**32)
    device: StrictStr | None = None


def _explain(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        parent = location.rsplit(".", 1)[0] if "." in location else None
        model: type[BaseModel] = HarnessConfig
        for part in (parent.split(".") if parent else []):
            annotation = model.model_fields[part].annotation
            model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else model
        known = ", ".join(model.model_fields)
        close = difflib.get_close_matches(location.rsplit(".", 1)[-1], list(model.model_fields), n=1)
        hint = f" (did you mean {f'{parent}.' if parent else ''}{close[0]}?)" if close else ""
        return f"unknown setting '{location}'{hint}; known{' in ' + parent if parent else ''}: {known}"
    given = error.get("input")
    message = error["msg"][0].lower() + error["msg"][1:]
    if error["type"] == "missing":
        return f"setting '{location}' is missing"
    return f"setting '{location}' = {given!r}: {message}{SPELLING.get(error['type'], '').format(key=location)}"


SPELLING = {"list_type": " (--set takes JSON: --set '{key}=[\"a\", \"b\"]')",
            "bool_type": " (true or false)", "bool_parsing": " (true or false)"}
"""How ``--set`` spells the values pydantic refuses by type, where its message does not say."""


FIX_SETTINGS = "fix the flag, the --set value or the suite entry"


def check_settings(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` checked against the schema and coerced to its types (``5.0`` epochs → 5); only the
    keys given are returned, so the config hash of a run does not change; plugins' option
    tables pass through untouched (``checks.py`` validates them)."""
    try:
        return HarnessConfig.model_validate(config).model_dump(exclude_unset=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise UserError(f"{_explain(first)}{more}; {FIX_SETTINGS}") from None
