"""NB201's vocabulary: op names, nodes and edges (no torch, so parsing strings stays instant)."""
from __future__ import annotations

OP_NAMES: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NONE = "none"

NUM_NODES = 4
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(1, NUM_NODES) for j in range(i))
"""(to, from) node pairs in the official edge order, which is also the string order."""
EDGE_NAMES: tuple[str, ...] = tuple(f"{i}<-{j}" for i, j in EDGES)
