"""forward's graph as the spec's list: the operations that reach the output, in construction
order where the data allows it, each with the ``inputs`` it reads.

The spec's order is both the execution order and the construction order (the ``state_dict``'s
order). Operations are taken as in Kahn's topological sort, the next one always the ready
operation whose layer ``__init__`` registered first; an operation without a layer of its own
(``F.relu``, a merge) ranks with the latest of its inputs, so it comes right after them. Where
forward uses layers in their registration order (the usual case) the registration order is kept
exactly, and the original's ``state_dict`` loads by position.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from .steps import ApplyLayer, Operation


def sources(operation: Operation) -> tuple[int, ...]:
    """The values an operation reads."""
    return operation.sources if hasattr(operation, "sources") else (operation.source,)  # type: ignore[union-attr]


def live(operations: Sequence[Operation], output: int) -> set[int]:
    """The indices of the operations whose values reach ``output``."""
    seen: set[int] = set()
    stack = [output]
    while stack:
        value = stack.pop()
        if value <= 0 or value - 1 in seen:
            continue
        seen.add(value - 1)
        stack.extend(sources(operations[value - 1]))
    return seen


def schedule(
    operations: Sequence[Operation], keep: set[int], registered: Mapping[str, int]
) -> list[int]:
    """The kept operations in a topological order that follows ``registered`` (layer name ->
    its place in ``__init__``'s order) where the data allows it."""
    rank: dict[int, int] = {}
    waiting: dict[int, int] = {}
    readers: dict[int, list[int]] = {}
    for index in sorted(keep):
        operation = operations[index]
        inputs = [v - 1 for v in set(sources(operation)) if v > 0]
        waiting[index] = len(inputs)
        for source in inputs:
            readers.setdefault(source, []).append(index)
        own = registered.get(operation.name, -1) if isinstance(operation, ApplyLayer) else -1
        rank[index] = max([own, *(rank[s] for s in inputs)])  # inputs come first in forward
    ready = [(rank[i], i) for i in sorted(keep) if waiting[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, index = heapq.heappop(ready)
        order.append(index)
        for reader in readers.get(index, ()):
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, (rank[reader], reader))
    return order
