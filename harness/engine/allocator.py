"""Which memory allocator this process uses, and a faster one to preload on CPUs.

Every oneDNN convolution call allocates and frees its descriptors and scratchpad; with
glibc's malloc that is about half of a small convolution call (38 µs of a 2×2 forward,
half of it with tcmalloc). Preloaded tcmalloc or jemalloc made our CPU search step about
20 % faster, eager and compiled, with the same bits (README, "Speed"). An allocator
cannot be swapped in a running process, so nasbench only says which one it runs with
(``nasbench bench``, a record's ``versions``) and which one it could be given.
"""
from __future__ import annotations

import ctypes.util
from pathlib import Path

FAST_ALLOCATORS = ("tcmalloc_minimal", "tcmalloc", "jemalloc")
"""Library names, best first (``libtcmalloc_minimal.so.4``: Debian's libtcmalloc-minimal4)."""


def loaded_allocator() -> str:
    """``tcmalloc`` or ``jemalloc`` when one is mapped into this process, else ``system`` (glibc's
    malloc on Linux); ``unknown`` where ``/proc/self/maps`` cannot be read."""
    try:
        return allocator_in(Path("/proc/self/maps").read_text())
    except OSError:
        return "unknown"


def allocator_in(maps: str) -> str:
    """The allocator a process's memory map (``/proc/<pid>/maps``) shows."""
    for name in ("tcmalloc", "jemalloc"):
        if f"/lib{name}" in maps:
            return name
    return "system"


def installed_fast_allocator() -> str | None:
    """The file name of a tcmalloc or jemalloc library the dynamic linker finds, for ``LD_PRELOAD``."""
    for name in FAST_ALLOCATORS:
        if found := ctypes.util.find_library(name):
            return found
    return None


def allocator_hint() -> str | None:
    """One line for CPU users running on the system allocator; None when a fast one is loaded."""
    if loaded_allocator() != "system":
        return None
    library = installed_fast_allocator()
    if library is not None:
        return (f"note: {library} is installed but not loaded; `LD_PRELOAD={library} nasbench ...` made the CPU "
                "search step about 20 % faster on our test machine (README, Speed)")
    return ("note: running on the system's malloc; tcmalloc or jemalloc preloaded (e.g. `apt install "
            "libtcmalloc-minimal4`, then `LD_PRELOAD=libtcmalloc_minimal.so.4 nasbench ...`) made the CPU search "
            "step about 20 % faster on our test machine (README, Speed)")
