"""forward's calls that make a layer on the fly: ``F.relu(x)``, ``torch.flatten(x, 1)``,
``x.view(x.size(0), -1)``, ``x.relu()``, and the merges ``torch.cat([a, b], 1)``.

Each reader gets the call (its input already read by the dataflow) and returns the layer it
makes, as a spec layer dict; a call it does not know is a ``Refusal``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from ..layers import REGISTRY
from .arguments import read_arguments
from .messages import Refusal
from .names import Evaluator, is_attr, same
from .vocabulary import FUNCTIONS, RESHAPES, TENSOR_METHODS, Signature

CATS = ("torch.cat", "torch.concat", "torch.concatenate")
ADDS = ("torch.add",)


@dataclass(frozen=True)
class Made:
    """A layer a call makes; ``features`` is a view's feature count the analysis must confirm."""

    layer: dict[str, Any]
    features: int | None = None
    text: str = ""


def function_layer(node: ast.Call, dotted: str, evaluator: Evaluator) -> Made:
    """``F.relu(x)``, ``torch.flatten(x, 1)``, ``F.max_pool2d(x, 2)`` ..."""
    if dotted == "torch.flatten":
        return Made(flatten(node, 1, dotted, evaluator))
    if dotted.startswith("torch.nn.") and dotted.count(".") == 2 and dotted[9:] in REGISTRY:
        raise Refusal(
            node,
            f"nn.{dotted[9:]}(...) makes a layer, it does not apply one to a tensor: define "
            f"self.layer = nn.{dotted[9:]}(...) in __init__ and call self.layer(x), or use "
            "the functional form (F.relu(x))",
        )
    if dotted not in FUNCTIONS:
        raise Refusal(
            node, f"{dotted} is not a function the reader knows (F.relu, F.max_pool2d, ...)"
        )
    signature = FUNCTIONS[dotted]
    args = read_arguments(node, signature, evaluator, skip=1)
    if signature.training and not _is_training(node, signature):
        raise Refusal(
            node,
            f"{dotted} without training=self.training stays active in eval mode: "
            f"write training=self.training, or use an nn.{signature.layer_type} layer",
        )
    return Made({"type": signature.layer_type, **args})


def method_layer(node: ast.Call, func: ast.Attribute, evaluator: Evaluator, text: str) -> Made:
    """``x.view(-1, 400)``, ``x.flatten(1)``, ``x.relu()`` ..."""
    if func.attr in RESHAPES:
        return Made({"type": "Flatten"}, view(node, func.attr, evaluator), text)
    if func.attr == "flatten":
        return Made(flatten(node, 0, "x.flatten", evaluator))
    if func.attr in TENSOR_METHODS:
        signature = TENSOR_METHODS[func.attr]
        args = read_arguments(node, signature, evaluator)
        return Made({"type": signature.layer_type, **args})
    raise Refusal(node, f".{func.attr}() is not a step the reader knows")


def cat_dim(node: ast.Call, evaluator: Evaluator) -> dict[str, Any]:
    """``torch.cat([a, b], 1)`` / ``dim=1``: the Concat layer (``dim`` left out at 1)."""
    dims = [*node.args[1:], *(k.value for k in node.keywords if k.arg in ("dim", "axis"))]
    extra = [k for k in node.keywords if k.arg not in ("dim", "axis")]
    if len(node.args) > 2 or len(dims) > 1 or extra:
        raise Refusal(node, "torch.cat is read as torch.cat([a, b], dim)")
    dim = evaluator.value(dims[0]) if dims else 0
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise Refusal(node, "torch.cat's dim must be a constant integer")
    if dim == 0:
        raise Refusal(node, "torch.cat along dim 0 joins batches: write torch.cat([a, b], 1)")
    return {"type": "Concat"} if dim == 1 else {"type": "Concat", "dim": dim}


def flatten(node: ast.Call, skip: int, what: str, evaluator: Evaluator) -> dict[str, Any]:
    """``torch.flatten(x, 1)`` / ``x.flatten(1)``: there start_dim defaults to 0."""
    order = ("start_dim", "end_dim")
    if len(node.args) - skip > 2:
        raise Refusal(node, f"{what} takes start_dim and end_dim")
    given = {"start_dim": 0, "end_dim": -1}
    pairs = [*zip(order, node.args[skip:]), *((k.arg, k.value) for k in node.keywords)]
    for key, value in pairs:
        if key not in order:
            raise Refusal(node, f"{what} is read with start_dim and end_dim")
        given[key] = evaluator.value(value)
    if given["start_dim"] == 0:
        fix = f"{what}(x, 1)" if skip else "x.flatten(1)"
        raise Refusal(node, f"this also flattens the batch dimension: write {fix}")
    entry = REGISTRY["Flatten"]
    return {
        "type": "Flatten",
        **{k: v for k, v in given.items() if not same(v, entry.arg(k).default)},
    }


def view(node: ast.Call, method: str, evaluator: Evaluator) -> int | None:
    """``x.view(-1, 16 * 5 * 5)`` / ``x.view(x.size(0), -1)``: a Flatten to (batch, n).

    Returns:
        The feature count given, which the analysis must confirm; None for ``-1``.
    """
    args = node.args
    if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
        args = args[0].elts
    usage = f"x.{method}(-1, n) or x.{method}(x.size(0), -1)"
    if len(args) != 2 or node.keywords:
        raise Refusal(node, f"a {method} is read to (batch, features) only: {usage}")
    free_batch = _is_batch(args[0])
    if not free_batch and _constant(args[0], evaluator) != -1:
        raise Refusal(node, f"the batch size must stay free: {usage}")
    features = _constant(args[1], evaluator)
    if not isinstance(features, int) or isinstance(features, bool):
        raise Refusal(node, f"the feature count must be a constant integer: {usage}")
    if features == -1 and not free_batch:
        raise Refusal(node, f"one of the sizes must be given: {usage}")
    if features == 0 or features < -1:
        raise Refusal(node, f"the feature count must be positive: {usage}")
    return None if features == -1 else features


def _constant(node: ast.expr, evaluator: Evaluator) -> Any:
    """A value if it is a constant, else None."""
    try:
        return evaluator.value(node)
    except Refusal:
        return None


def _is_training(node: ast.Call, signature: Signature) -> bool:
    given = dict(zip(signature.order, node.args[1:]))
    given.update({k.arg: k.value for k in node.keywords if k.arg})
    return is_attr(given.get("training"), "self", "training")


def _is_batch(node: ast.AST) -> bool:
    """``x.size(0)``, ``x.shape[0]``, ``x.size()[0]``, ``len(x)``: the batch size."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id == "len":
            return len(node.args) == 1 and isinstance(node.args[0], ast.Name)
        return (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "size"
            and isinstance(node.func.value, ast.Name)
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == 0
        )
    if isinstance(node, ast.Subscript):
        base = node.value
        zero = isinstance(node.slice, ast.Constant) and node.slice.value == 0
        shape = isinstance(base, ast.Attribute) and base.attr == "shape"
        size = (
            isinstance(base, ast.Call)
            and isinstance(base.func, ast.Attribute)
            and base.func.attr == "size"
            and not base.args
        )
        return zero and (shape or size)
    return False
