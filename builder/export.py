"""Downloads: the design as JSON, its initialized weights as a ``state_dict``, and its code.

Each is ``bytes`` ready for a download button, with a suggested file name. The three fit
together: the JSON reloads with ``load_spec``, and the weights file loads with
``torch.load(path, weights_only=True)`` into the exported class with a strict
``load_state_dict``.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .codegen import generate_code
from .model import build_model
from .spec import Spec, load_spec


@dataclass(frozen=True)
class Download:
    """One file to offer: its suggested name, contents and MIME type."""

    label: str
    file_name: str
    data: bytes
    mime: str


def _spec(spec: Any) -> Spec:
    return spec if isinstance(spec, Spec) else load_spec(spec)


def file_stem(spec: Any) -> str:
    """A safe file name stem from the design's name: ``"LeNet"`` -> ``"lenet"``.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.

    Returns:
        The name's ASCII letters and digits, lower-cased, words joined by ``_``
        (``"my net"`` -> ``"my_net"``); ``"net"`` if nothing is left.
    """
    words = re.findall(r"[A-Za-z0-9]+", _spec(spec).name or "")
    return "_".join(words).lower() or "net"


def spec_json_bytes(spec: Any) -> bytes:
    """The normalized spec as pretty JSON (UTF-8) that ``load_spec`` reads back to the same spec.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.

    Returns:
        The file's bytes.
    """
    return (json.dumps(_spec(spec).to_dict(), indent=2) + "\n").encode("utf-8")


def state_dict_bytes(spec_or_model: Any) -> bytes:
    """The initialized weights as a ``torch.save``'d ``state_dict``.

    The file holds only tensors under the layer names (``conv1.weight``, ``bn1.running_mean``,
    ...), so ``torch.load(..., weights_only=True)`` reads it and the exported class accepts it
    with a strict ``load_state_dict``.

    Args:
        spec_or_model: the model the app built (an ``nn.Module``), or a spec to build it from.

    Returns:
        The file's bytes.
    """
    model = spec_or_model
    if not isinstance(model, nn.Module):
        model = build_model(model)
    state = {key: tensor.detach().clone() for key, tensor in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def code_bytes(spec: Any, **options: Any) -> bytes:
    """The exported module as UTF-8 source (see ``generate_code`` for ``options``).

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.
        **options: passed to ``generate_code`` (``functional_activations``).

    Returns:
        The file's bytes.
    """
    return generate_code(spec, **options).encode("utf-8")


def downloads(spec: Any, model: nn.Module | None = None, **options: Any) -> list[Download]:
    """All three downloads for a design, named after it (``lenet.py``, ``lenet.json``, ...).

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.
        model: the already built model, to save its weights without building it again.
        **options: passed to ``generate_code``.

    Returns:
        The code, the spec and the weights, in that order.

    Raises:
        SpecError: if the spec is invalid or its analysis fails.
    """
    spec = _spec(spec)
    stem = file_stem(spec)
    return [
        Download("PyTorch code", f"{stem}.py", code_bytes(spec, **options), "text/x-python"),
        Download("design (JSON)", f"{stem}.json", spec_json_bytes(spec), "application/json"),
        Download(
            "weights (state_dict)",
            f"{stem}_weights.pt",
            state_dict_bytes(model if model is not None else spec),
            "application/octet-stream",
        ),
    ]
