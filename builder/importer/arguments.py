"""One call's arguments as a layer's arguments, and the layer checked on its own.

Shared by the module tree (``nn.Conv2d(3, 6, 5)``) and the dataflow (``F.max_pool2d(x, 2)``):
both map positional and keyword arguments through a ``Signature`` and validate the layer at once,
so that its problem names its line.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import SpecError
from ..spec import load_spec
from .messages import Refusal, Refused
from .names import NO_LOCALS, Evaluator, same
from .vocabulary import Signature


def refuse_unpacking(call: ast.Call) -> None:
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        raise Refusal(call, "*args and **kwargs are not read")


def read_arguments(
    call: ast.Call,
    signature: Signature,
    evaluator: Evaluator,
    env: Mapping[str, Any] = NO_LOCALS,
    skip: int = 0,
) -> dict[str, Any]:
    """A constructor's (or function's) arguments by the layer's names, torch's defaults left out.

    Args:
        call: the call.
        signature: how its parameters map to the layer's arguments.
        evaluator: reads each value.
        env: ``__init__``'s local constants.
        skip: leading positional arguments that are not the layer's (a function's input).
    """
    refuse_unpacking(call)
    entry = signature.entry
    positional = call.args[skip:]
    if len(positional) > len(signature.order):
        raise Refusal(
            call, f"{entry.name} takes at most {len(signature.order)} positional arguments"
        )
    given: dict[str, Any] = {}
    seen: set[str] = set()
    pairs = [*zip(signature.order, positional), *((k.arg, k.value) for k in call.keywords)]
    for key, node in pairs:
        if key in seen:
            raise Refusal(node, f"{key} is given twice")
        seen.add(key)
        if signature.training and key == "training":  # checked apart: self.training
            continue
        name = signature.renamed.get(key, key)
        if entry.arg(name) is not None:
            given[name] = evaluator.value(node, env)
        elif key in signature.extras and same(evaluator.value(node, env), signature.extras[key]):
            continue  # torch's own default, written out (device=None to reach a later positional)
        else:
            known = ", ".join(a.name for a in entry.args) or "no arguments"
            raise Refusal(node, f"{entry.name} is read with {known}; not {key!r}")
    return {
        a.name: given[a.name]
        for a in entry.args
        if a.name in given and (a.name == entry.in_key or not same(given[a.name], a.default))
    }


def check_layer(line: int, layer: dict[str, Any], input_shape: Sequence[int]) -> None:
    """Validate one layer on its own now, so that its problem names its line."""
    try:
        load_spec({"input_shape": list(input_shape), "layers": [layer]})
    except SpecError as exc:
        text = str(exc)
        message = (
            f"line {line} {text[len('layer 1 ') :]}"
            if text.startswith("layer 1 (")
            else f"line {line}: {text}"
        )
        raise Refusal(None, problem=Refused(line, message)) from None
