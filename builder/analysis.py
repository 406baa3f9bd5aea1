"""Spec -> Analysis: per-layer output shapes, parameter counts and their arithmetic.

Arithmetic only: no tensor is allocated, so a 20-billion-parameter design analyses instantly.
Multiply-adds are counted as ``torchinfo`` counts them (per sample): a layer's weight and bias
count once per output position for convolutions, once for every other layer with parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import SpecError
from .formatting import shape_text
from .layers import LayerProblem
from .messages import N_, message
from .spec import INPUT, Spec, load_spec

_LAYER = N_("layer {index} ({name})")  # where a row's error points (as builder.spec says it)

BYTES_PER_PARAM = 4  # float32
MB = 1e6


@dataclass(frozen=True)
class LayerAnalysis:
    """One row of the analysis table.

    Attributes:
        index: position in the stack, from 0 (the app shows ``index + 1``).
        name, type: the layer's name and torch class name.
        input_shape, output_shape: per-sample shapes (None after an error).
        params: the layer's parameter count, or None where the input is unknown.
        trainable: whether its parameters are trained.
        tensors: ``[(name, shape)]`` of its parameters, in torch's order.
        buffers: number of buffer elements (BatchNorm running statistics).
        buffer_tensors: ``[(name, shape)]`` of its buffers.
        param_formula: the count's arithmetic (``6·3·5·5 + 6 = 456``).
        shape_formula: the output size's arithmetic.
        mult_adds: multiply-adds for one sample (torchinfo's convention).
        activations: elements of the output for one sample.
        error: what is wrong at this layer, or None.
        error_field: the field at fault.
        fix: the suggested fix in words.
        fix_action: the fix as an edit, or None.
        torch_fails: whether torch itself would raise at this layer.
        inferred: the value of the type's ``in_key`` (``in_channels`` ...) as the input gives it
            (LayerNorm: the normalized shape, a tuple), or None.
        inputs: the names of the layers it reads (``("input",)``: the network's input).
        input_shapes: the shape of each input (a merge has several; ``input_shape`` is the
            first), or () where one is unknown.
        used_by: the names of the later layers that read its output.
    """

    index: int
    name: str
    type: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    params: int | None
    trainable: bool = True
    tensors: tuple[tuple[str, tuple[int, ...]], ...] = ()
    buffers: int = 0
    buffer_tensors: tuple[tuple[str, tuple[int, ...]], ...] = ()
    param_formula: str = ""
    shape_formula: str = ""
    mult_adds: int = 0
    activations: int = 0
    error: str | None = None
    error_field: str | None = None
    fix: str | None = None
    fix_action: dict[str, Any] | None = None
    torch_fails: bool = True
    inferred: Any = None
    inputs: tuple[str, ...] = ()
    input_shapes: tuple[tuple[int, ...], ...] = ()
    used_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Analysis:
    """The whole table and its totals."""

    input_shape: tuple[int, ...]
    layers: tuple[LayerAnalysis, ...]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    total_buffers: int
    mult_adds: int
    param_memory_mb: float
    activation_memory_mb: float
    error: str | None = None
    error_index: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def is_graph(self) -> bool:
        """Whether some layer reads other than the one before it (a skip, a branch, a merge)."""
        previous = INPUT
        for row in self.layers:
            if row.inputs != (previous,):
                return True
            previous = row.name
        return False

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        if not self.ok:
            return None
        return self.layers[-1].output_shape if self.layers else self.input_shape

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame (one row per layer)."""
        import pandas as pd

        rows = [
            {
                "#": row.index + 1,
                "name": row.name,
                "inputs": ", ".join(row.inputs),
                "type": row.type,
                "output shape": shape_text(row.output_shape),
                "params": row.params,
                "param formula": row.param_formula,
                "mult-adds": row.mult_adds if row.output_shape is not None else None,
                "output size formula": row.shape_formula,
                "error": row.error or "",
            }
            for row in self.layers
        ]
        columns = [
            "#",
            "name",
            "inputs",
            "type",
            "output shape",
            "params",
            "param formula",
            "mult-adds",
            "output size formula",
            "error",
        ]
        return pd.DataFrame(rows, columns=columns)


def param_formula(tensors: list[tuple[str, tuple[int, ...]]]) -> str:
    """``6·3·5·5 + 6 = 456``: each tensor's shape multiplied out, summed."""
    if not tensors:
        return ""
    parts = ["·".join(str(s) for s in shape) or "1" for _, shape in tensors]
    total = sum(math.prod(shape) for _, shape in tensors)
    return f"{' + '.join(parts)} = {total:,}"


def analyze(spec: Any) -> Analysis:
    """Analyse a spec without allocating weights.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.

    Returns:
        The ``Analysis``. A shape problem is the failing layer's ``.error``, not an exception;
        layers after it have no shape.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    shapes: dict[str, tuple[int, ...] | None] = {INPUT: spec.input_shape}
    used_by = _consumers(spec)
    rows: list[LayerAnalysis] = []
    for index, layer in enumerate(spec.layers):
        in_shapes = [shapes[name] for name in layer.inputs]
        known = all(s is not None for s in in_shapes)
        row = _analyze_layer(index, layer, tuple(in_shapes) if known else None, used_by[layer.name])
        if (
            row.output_shape is not None
            and not used_by[layer.name]
            and index < len(spec.layers) - 1
        ):
            row = _unused(row, spec)
        rows.append(row)
        shapes[layer.name] = row.output_shape if row.error is None else None
    first = next((row for row in rows if row.error), None)
    error = first.error if first else None
    error_index = first.index if first else None
    params = [r.params or 0 for r in rows]
    trainable = sum(p for p, r in zip(params, rows) if r.trainable)
    total = sum(params)
    activations = sum(r.activations for r in rows)
    return Analysis(
        input_shape=spec.input_shape,
        layers=tuple(rows),
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        total_buffers=sum(r.buffers for r in rows),
        mult_adds=sum(r.mult_adds for r in rows),
        param_memory_mb=total * BYTES_PER_PARAM / MB,
        activation_memory_mb=activations * BYTES_PER_PARAM / MB,
        error=error,
        error_index=error_index,
    )


def _consumers(spec: Spec) -> dict[str, tuple[str, ...]]:
    """Per layer name, the later layers that read its output, in order."""
    readers: dict[str, list[str]] = {layer.name: [] for layer in spec.layers}
    for layer in spec.layers:
        for name in dict.fromkeys(layer.inputs):
            if name != INPUT:
                readers[name].append(layer.name)
    return {name: tuple(names) for name, names in readers.items()}


def _analyze_layer(
    index: int,
    layer: Any,
    in_shapes: tuple[tuple[int, ...], ...] | None,
    used_by: tuple[str, ...],
) -> LayerAnalysis:
    """One row: the layer's shape rule on its inputs' shapes (None: an input is unknown)."""
    entry = layer.entry
    args = layer.resolved()
    given_in = args.get(entry.in_key) if entry.in_key else None
    # without an input shape, the count is known only where the layer's own arguments fix it
    # (PReLU's, with no inferred argument, always are)
    fixed = given_in is not None or not entry.in_key or not entry.tensors(args, 1)
    if in_shapes is None:
        tensors = entry.tensors(args, given_in) if fixed else []
        return _row(index, layer, None, None, tensors, [], "", fixed, links=(used_by, ()))
    shape = in_shapes[0]
    try:
        if entry.merge_rule is not None:
            out_shape, formula = entry.merge_rule(in_shapes, args)
        else:
            out_shape, formula = entry.rule(shape, args)
    except LayerProblem as problem:
        error = _error(
            message(_LAYER, index=index + 1, name=layer.name), problem.message, problem.fix
        )
        action = _located(problem.action, index, layer.inputs)
        tensors = entry.tensors(args, given_in) if fixed else []
        links = (used_by, in_shapes)
        return _row(
            index, layer, shape, None, tensors, [], "", fixed, problem, action, error, links=links
        )
    in_dim = entry.infer(shape, args) if entry.in_key else None
    tensors = entry.tensors(args, in_dim)
    buffers = entry.buffers(args, in_dim)
    links = (used_by, in_shapes)
    return _row(
        index,
        layer,
        shape,
        out_shape,
        tensors,
        buffers,
        formula,
        True,
        inferred=in_dim,
        links=links,
    )


def _located(
    action: dict[str, Any] | None, index: int, inputs: tuple[str, ...]
) -> dict[str, Any] | None:
    """A rule's fix as an edit of this layer: its index, and for a fix on one of a merge's
    inputs (``slot``) that input's name."""
    if not action:
        return None
    out = dict(action, index=index)
    if "slot" in out:
        out["input"] = inputs[out.pop("slot")]
    return out


def _error(where: str, problem: str, fix: str) -> str:
    """``layer 3 (conv2): <problem>. Fix: <fix>`` (a ``Message``: the app renders it in the
    user's language)."""
    if fix:
        return message("{where}: {problem}. Fix: {fix}", where=where, problem=problem, fix=fix)
    return message("{where}: {problem}", where=where, problem=problem)


def _unused(row: LayerAnalysis, spec: Spec) -> LayerAnalysis:
    """The error of a layer whose output nothing reads (SPEC.md "Graphs"), with its fixes."""
    last = spec.layers[-1].name
    where = message(_LAYER, index=row.index + 1, name=row.name)
    fix = message(
        "delete it, or feed it into a merge (an Add or Concat that also reads {last}, "
        "or a later layer's inputs)",
        last=last,
    )
    text = message(
        "its output is never used: no later layer reads it, and it is not the last layer"
    )
    return replace(
        row,
        error=_error(where, text, fix),
        error_field="inputs",
        fix=fix,
        fix_action={"op": "delete", "index": row.index},
        torch_fails=False,  # torch runs it: the rule is NetBuilder's
    )


def _row(
    index: int,
    layer: Any,
    in_shape: tuple[int, ...] | None,
    out_shape: tuple[int, ...] | None,
    tensors: list[tuple[str, tuple[int, ...]]],
    buffers: list[tuple[str, tuple[int, ...]]],
    formula: str,
    known: bool,
    problem: LayerProblem | None = None,
    action: dict[str, Any] | None = None,
    error: str | None = None,
    inferred: Any = None,
    links: tuple[tuple[str, ...], tuple[tuple[int, ...], ...]] = ((), ()),
) -> LayerAnalysis:
    """The row (``links``: the layers that read it, and its inputs' shapes)."""
    params = sum(math.prod(s) for _, s in tensors) if known else None
    mult_adds = 0
    if out_shape is not None and params:
        mult_adds = layer.entry.macs(layer.resolved(), out_shape, params)
    return LayerAnalysis(
        index=index,
        name=layer.name,
        type=layer.type,
        input_shape=in_shape,
        output_shape=out_shape,
        params=params,
        trainable=layer.trainable,
        tensors=tuple(tensors),
        buffers=sum(math.prod(s) for _, s in buffers),
        buffer_tensors=tuple(buffers),
        param_formula=param_formula(tensors) if known else "",
        shape_formula=formula,
        mult_adds=mult_adds,
        activations=math.prod(out_shape) if out_shape is not None else 0,
        error=error,
        error_field=problem.field if problem else None,
        fix=problem.fix if problem else None,
        fix_action=action,
        torch_fails=problem.torch_fails if problem else True,
        inferred=inferred,
        inputs=layer.inputs,
        input_shapes=links[1],
        used_by=links[0],
    )


def require_ok(analysis: Analysis) -> None:
    """Raise ``SpecError`` with the first layer error if the analysis failed."""
    if not analysis.ok:
        raise SpecError(analysis.error)
