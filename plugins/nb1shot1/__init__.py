"""NAS-Bench-1Shot1 search spaces 1-3: one-shot supernets whose every architecture is an NB101 cell."""
from collections.abc import Callable

from harness import hookimpl
from plugins.nb1shot1.options import NB1Shot1Options

SPACES = {
    "nb1shot1-1": ("NB1Shot1Space1", "NAS-Bench-1Shot1 space 1: 4 choice blocks, 2 parents each, NB101 ground truth"),
    "nb1shot1-2": ("NB1Shot1Space2", "NAS-Bench-1Shot1 space 2: 4 choice blocks, 1/1/2/2 parents, output 3"),
    "nb1shot1-3": ("NB1Shot1Space3", "NAS-Bench-1Shot1 space 3: 5 choice blocks, 1/1/1/2/2 parents, output 2"),
}


@hookimpl
def nasbench_register_search_spaces(register: Callable[..., None]) -> None:
    for name, (cls, description) in SPACES.items():
        register(name, f"plugins.nb1shot1.space:{cls}", description, options=NB1Shot1Options)
