"""Cell topology for PT's topology phase (darts-pt Algorithm 2): which edges feed each node,
and how many of them a final architecture keeps.

A search space opts in by setting two attributes of ``harness.SearchSpace`` (NB201 leaves
both None, so PT only selects operations there; the ``darts`` spaces set them):

- ``node_inputs: tuple[tuple[int, ...], ...]`` — for each intermediate node, the indices
  (in the space's edge order) of the edges that feed it; an edge feeds one node at most;
- ``inputs_per_node: int`` — how many input edges each node keeps (2 in the DARTS space).

An architecture writes a pruned edge as the space's ``"none"`` op, so such a space must
have one. ``none`` then only decides the topology: PT never picks it as an edge's
operation (``SearchSpace.edge_choices``) (darts-pt A.1.1, "we omit none op when applying the proposed selection method
on DARTS").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness import Architecture, SearchSpace, UserError

NONE_OP = "none"


@dataclass(frozen=True)
class Topology:
    """The input edges of every node and how many each node keeps."""

    node_inputs: tuple[tuple[int, ...], ...]
    inputs_per_node: int
    none_op: int
    """Index of the op that writes a pruned edge into an architecture."""

    @classmethod
    def of(cls, space: SearchSpace) -> Topology | None:
        """The space's topology, or ``None`` when it has no topology to select (e.g. NB201)."""
        node_inputs = getattr(space, "node_inputs", None)
        keep = getattr(space, "inputs_per_node", None)
        if node_inputs is None and keep is None:
            return None
        name = space.name or type(space).__name__
        if node_inputs is None or keep is None:
            raise UserError(f"search space {name} defines only one of node_inputs / inputs_per_node; "
                            "PT's topology selection needs both (or neither)")
        if int(keep) < 1:
            raise UserError(f"search space {name}: inputs_per_node must be at least 1, got {keep}")
        if NONE_OP not in space.op_names:
            raise UserError(f"search space {name} has node_inputs but no '{NONE_OP}' op to write pruned "
                            "edges with; add a 'none' op or drop node_inputs")
        inputs = tuple(tuple(int(edge) for edge in node) for node in node_inputs)
        flat = [edge for node in inputs for edge in node]
        if len(set(flat)) != len(flat) or any(not 0 <= edge < space.num_edges for edge in flat):
            raise UserError(f"search space {name}: node_inputs must name each edge (0..{space.num_edges - 1}) "
                            f"at most once, got {inputs}")
        return cls(inputs, int(keep), space.op_names.index(NONE_OP))

    def nodes_to_decide(self) -> list[int]:
        """Nodes with more input edges than they keep; only these need a topology decision."""
        return [node for node, inputs in enumerate(self.node_inputs) if len(inputs) > self.inputs_per_node]

    def keep(self, node: int, importance: Mapping[int, float]) -> tuple[int, ...]:
        """The node's ``inputs_per_node`` input edges of highest importance (ties: lower edge index)."""
        ranked = sorted(self.node_inputs[node], key=lambda edge: (-importance[edge], edge))
        return tuple(sorted(ranked[:self.inputs_per_node]))

    def complete(self, ops: Sequence[int], kept: Mapping[int, tuple[int, ...]],
                 strength: Mapping[int, float]) -> Architecture:
        """``ops`` with every node's pruned inputs set to ``none``.

        Decided nodes keep ``kept[node]``; undecided ones the inputs of largest
        ``strength`` (DARTS' rule, for the architecture so far).
        """
        arch = [int(op) for op in ops]
        for node in self.nodes_to_decide():
            chosen = kept[node] if node in kept else self.keep(node, strength)
            for edge in self.node_inputs[node]:
                if edge not in chosen:
                    arch[edge] = self.none_op
        return tuple(arch)
