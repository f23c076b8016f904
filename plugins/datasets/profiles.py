"""The config profile of tiny datasets (digits, synthetic).

They get a small NB201 supernet and at most 10 epochs (a method's 50 or 100 are meant
for CIFAR), so the embedded default finishes on a CPU in a couple of minutes; the user's
``--epochs`` still wins. Networks this small run fastest on one CPU thread: with two,
OpenMP synchronization costs more than it saves (3× slower on two cores, 7× on a busy
machine). ``name?`` marks a benchmark used only when it is available (NB201 always is: the
package ships a table of mean accuracies).
"""
from __future__ import annotations

from typing import Any

SMALL_PROFILE: dict[str, Any] = {
    "threads": 1,
    "space": {"options": {"C": 8, "N": 1}},
    "benchmarks": {"names": ["retrain", "nb201?"]},
    "search": {"batch_size": 64},
}
SMALL_MAX_EPOCHS = 10
