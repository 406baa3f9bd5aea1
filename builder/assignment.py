"""Assignments: constraints a teacher puts in a share link, checked live against a design.

An assignment is plain JSON, validated here like a spec:
``{"max_params": 60000, "output_shape": [10], "allowed_types": ["Conv2d", ...],
"locked": ["input_shape", "init"], "title": "..."}`` (every key optional).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .analysis import Analysis
from .errors import SpecError
from .layers import MAX_INT, REGISTRY
from .messages import N_, message
from .share import pack, unpack
from .spec import _show

LOCKABLE = {
    "input_shape": N_("input shape"),
    "seed": N_("seed"),
    "init": N_("initializers"),
    "files": N_("presets, uploads and imports"),
}
KEYS = ("title", "max_params", "output_shape", "allowed_types", "locked")
MAX_TITLE = 120
MAX_ASSIGNMENT_BYTES = 20_000  # unpacked JSON of one assignment


@dataclass(frozen=True)
class Assignment:
    """A validated assignment."""

    title: str = ""
    max_params: int | None = None
    output_shape: tuple[int, ...] | None = None
    allowed_types: tuple[str, ...] | None = None
    locked: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.title:
            out["title"] = self.title
        if self.max_params is not None:
            out["max_params"] = self.max_params
        if self.output_shape is not None:
            out["output_shape"] = list(self.output_shape)
        if self.allowed_types is not None:
            out["allowed_types"] = list(self.allowed_types)
        if self.locked:
            out["locked"] = list(self.locked)
        return out

    @property
    def empty(self) -> bool:
        return not self.to_dict()


@dataclass(frozen=True)
class Check:
    """One constraint's verdict: its label, whether it passes, and the numbers behind it."""

    label: str
    passed: bool
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _positive_int(key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_INT * 64:
        raise SpecError(
            message(
                "assignment: {key} must be a positive integer, got {value}",
                key=key,
                value=_show(value),
            )
        )
    return value


def load_assignment(data: Any) -> Assignment:
    """Validate an assignment dict.

    Raises:
        SpecError: naming the field and the received value.
    """
    if not isinstance(data, Mapping):
        raise SpecError(message("assignment: must be a JSON object"))
    for key in data:
        if key not in KEYS:
            raise SpecError(message("assignment: unknown key {key}", key=_show(key)))
    title = data.get("title", "")
    if not isinstance(title, str) or len(title) > MAX_TITLE or not title.isprintable():
        raise SpecError(
            message(
                "assignment: title must be printable text of at most {most} characters",
                most=MAX_TITLE,
            )
        )
    max_params = data.get("max_params")
    if max_params is not None:
        max_params = _positive_int("max_params", max_params)
    shape = data.get("output_shape")
    if shape is not None:
        if not isinstance(shape, (list, tuple)) or not 1 <= len(shape) <= 3:
            raise SpecError(
                message(
                    "assignment: output_shape must be a list of 1 to 3 sizes, got {value}",
                    value=_show(shape),
                )
            )
        shape = tuple(_positive_int("output_shape", v) for v in shape)
    allowed = data.get("allowed_types")
    if allowed is not None:
        if not isinstance(allowed, (list, tuple)) or not allowed:
            raise SpecError(
                message("assignment: allowed_types must be a non-empty list of layer types")
            )
        for name in allowed:
            if not isinstance(name, str) or name not in REGISTRY:
                raise SpecError(
                    message(
                        "assignment: allowed_types has an unknown layer type {value}",
                        value=_show(name),
                    )
                )
        allowed = tuple(dict.fromkeys(allowed))
    locked = data.get("locked", ())
    if not isinstance(locked, (list, tuple)):
        raise SpecError(message("assignment: locked must be a list"))
    for name in locked:
        if not isinstance(name, str) or name not in LOCKABLE:
            raise SpecError(
                message(
                    "assignment: locked can hold {names}; got {value}",
                    names=", ".join(LOCKABLE),
                    value=_show(name),
                )
            )
    return Assignment(title, max_params, shape, allowed, tuple(dict.fromkeys(locked)))


def check(assignment: Assignment, layer_types: list[str], analysis: Analysis | None) -> list[Check]:
    """Each constraint, pass or fail, for the design's layer types and analysis."""
    checks: list[Check] = []
    ok = analysis is not None and analysis.ok
    error = "" if ok else (analysis.error if analysis else "")
    checks.append(Check(message("the design is valid"), ok, error or ""))
    if assignment.max_params is not None:
        total = analysis.total_params if analysis is not None else None
        passed = total is not None and total <= assignment.max_params
        most = f"{assignment.max_params:,}"
        detail = (
            message("{total} of {max_params}", total=format(total, ","), max_params=most)
            if total is not None
            else message("unknown")
        )
        label = message("at most {max_params} parameters", max_params=most)
        checks.append(Check(label, passed, detail))
    if assignment.output_shape is not None:
        got = analysis.output_shape if ok else None
        want = tuple(assignment.output_shape)
        detail = message("got {shape}", shape=got) if got else message("no output yet")
        checks.append(Check(message("output shape {shape}", shape=want), got == want, detail))
    if assignment.allowed_types is not None:
        extra = sorted({t for t in layer_types if t not in assignment.allowed_types})
        detail = message("not allowed: {types}", types=", ".join(extra)) if extra else ""
        label = message("only {types}", types=", ".join(assignment.allowed_types))
        checks.append(Check(label, not extra, detail))
    return checks


def encode_assignment(assignment: Assignment) -> str:
    """Pack for a URL (``?a=``), like a shared design."""
    return pack(assignment.to_dict())


def decode_assignment(link: str) -> Assignment:
    """Unpack and validate; every failure is a SpecError for a person."""
    return load_assignment(unpack(link, "the assignment in the link", MAX_ASSIGNMENT_BYTES))
