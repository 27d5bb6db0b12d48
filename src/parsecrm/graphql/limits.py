"""Depth and cost limits, checked on the parsed document before anything runs.

Depth: the deepest nesting of selections. Cost: every selected field costs 1 per object it is selected on; a
connection multiplies the cost of what is under it by its page size (`first`/`last`, else the default page). So
`deals(first: 50) { edges { node { contact { company { name } } } } }` costs about 50  x  4. Introspection fields
(`__schema`, `__type`) are exempt: their shape is fixed and the playground needs them."""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

from .resolvers import DEFAULT_PAGE


class LimitExceeded(Exception):
    pass


def _page_size(node: FieldNode, variables: dict[str, Any]) -> int | None:
    for arg in node.arguments or ():
        if arg.name.value in ("first", "last"):
            if isinstance(arg.value, IntValueNode):
                return int(arg.value.value)
            if isinstance(arg.value, VariableNode):
                value = variables.get(arg.value.name.value)
                if isinstance(value, int):
                    return value
    return None


class _Walk:
    def __init__(self, doc: DocumentNode, variables: dict[str, Any], connections: frozenset[str]) -> None:
        self.fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
        self.variables = variables
        self.connections = connections
        self.max_depth = 0

    def cost(self, sel: SelectionSetNode | None, depth: int, seen: frozenset[str]) -> int:
        total = 0
        for s in sel.selections if sel else ():
            if isinstance(s, FieldNode):
                if s.name.value.startswith("__"):
                    continue
                self.max_depth = max(self.max_depth, depth + 1)
                size = _page_size(s, self.variables)
                if size is None and s.name.value in self.connections:
                    size = DEFAULT_PAGE
                total += 1 + max(size or 1, 1) * self.cost(s.selection_set, depth + 1, seen)
            elif isinstance(s, InlineFragmentNode):
                total += self.cost(s.selection_set, depth, seen)
            elif isinstance(s, FragmentSpreadNode) and s.name.value not in seen:
                frag = self.fragments.get(s.name.value)
                if frag is not None:
                    total += self.cost(frag.selection_set, depth, seen | {s.name.value})
        return total


def check(
    doc: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    connections: frozenset[str],
    max_depth: int,
    max_cost: int,
) -> None:
    walk = _Walk(doc, variables, connections)
    cost = walk.cost(operation.selection_set, 0, frozenset())
    if walk.max_depth > max_depth:
        raise LimitExceeded(f"Query depth {walk.max_depth} exceeds the maximum depth of {max_depth}.")
    if cost > max_cost:
        raise LimitExceeded(f"Query cost {cost} exceeds the maximum cost of {max_cost}.")
