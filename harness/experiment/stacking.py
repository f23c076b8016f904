"""The search of several seeds as one stacked model (``harness.engine.stacked``), epoch by epoch.

Each epoch the stack trains, writes every seed's state back into its own run, and each run
then ends its epoch as it would alone (schedule, trajectory row, checkpoint, hooks), with
its own global random state. A seed whose loss turns NaN, or whose epoch fails, leaves
the stack with the failure it would have had alone; the others go on.
"""
from __future__ import annotations

import re
import warnings

from tqdm.auto import tqdm

from harness.api.errors import UserError
from harness.engine.stacked import StackedTrainer
from harness.engine.trainer import DivergedError
from harness.experiment.runner import Run, capture_rng, end_epoch, restore_rng
from harness.plugin.failures import describe_exception

RERUN_HINT = "--stack-seeds off runs the seeds one by one"


def search_stacked(runs: list[Run]) -> list[str | None]:
    """Search ``runs`` (same config, same ``start_epoch``) stacked, up to their last epoch or until one
    seed is left (it finishes alone, from ``run.start_epoch``); per run its failure, or None."""
    config = runs[0].context.config
    epochs = config["search"]["epochs"]
    failures: list[str | None] = [None] * len(runs)
    active = list(range(len(runs)))
    for i in active:
        runs[i].stacked_with = len(runs)
    epoch = runs[0].start_epoch
    seeds = ",".join(str(run.context.seed) for run in runs)
    stack = StackedTrainer([run.trainer for run in runs])
    with tqdm(total=(epochs - epoch) * stack.trainers[0].steps_per_epoch(), unit="step", leave=False, disable=None,
              desc=f"{config['label']} seeds {seeds} (stacked)") as bar:
        while epoch < epochs and len(active) >= 2:
            try:
                stats = stack.train_epoch(progress=bar.update)
            except UserError:
                raise
            except Exception as exc:  # a plugin that declared itself stackable but fails so: every seed says why
                reason = f"{describe_exception(exc)} (in the stacked search; {RERUN_HINT})"
                for i in active:
                    failures[i] = reason
                return failures
            epoch += 1
            for i, seed_stats in zip(active, stats):
                failures[i] = _end_epoch(runs[i], epoch, seed_stats)
            remaining = [i for i in active if failures[i] is None]
            if remaining != active and len(remaining) >= 2:
                stack = StackedTrainer([runs[i].trainer for i in remaining])
            active = remaining
    return failures


def _end_epoch(run: Run, epoch: int, stats: dict[str, float]) -> str | None:
    """The seed's epoch end as ``runner.search`` does it; its failure, or None."""
    restore_rng(run.rng_state)
    try:
        run.trainer.raise_if_diverged(stats)
        with warnings.catch_warnings():  # the seed's own SGD did not step: the stack's did, for it
            warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()` before"))
            end_epoch(run, epoch, stats)
    except DivergedError as exc:
        return str(exc)
    except UserError:
        raise
    except Exception as exc:  # as runner.complete_run records a plugin's bug
        return describe_exception(exc)
    finally:
        run.rng_state = capture_rng()
    run.start_epoch = epoch
    return None
