"""Downloads: the design as JSON, its initialized weights as a ``state_dict``, and its code.

The one export path: the app renders exactly what ``downloads`` returns (labels, file names,
MIME types), and each file's bytes are made only when asked for. The three fit
together: the JSON reloads with ``load_spec``, and the weights file loads with
``torch.load(path, weights_only=True)`` into the exported class with a strict
``load_state_dict``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .codegen import generate_code
from .model import build_model
from .spec import Spec, load_spec


@dataclass(frozen=True)
class Download:
    """One file to offer: its label, suggested name and MIME type; its bytes made on demand.

    Attributes:
        label: what the button says.
        file_name: the suggested file name.
        mime: the MIME type.
        key: a stable short name (``"py"``, ``"json"``, ``"pt"``), for widget keys.
        make: builds the bytes (building the model only for the weights).
    """

    label: str
    file_name: str
    mime: str
    key: str
    make: Callable[[], bytes] = field(repr=False)

    @property
    def data(self) -> bytes:
        """The file's bytes (made now)."""
        return self.make()


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


def downloads(
    spec: Any,
    model: nn.Module | None = None,
    weights: bool = True,
    code: str | None = None,
    **options: Any,
) -> list[Download]:
    """The downloads for a design, named after it (``lenet.py``, ``lenet.json``, ...).

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.
        model: the already built model, to save its weights without building it again.
        weights: whether to offer the weights (the app leaves them out above its build limit).
        code: the source ``generate_code(spec, **options)`` already returned (the app caches it).
        **options: passed to ``generate_code``.

    Returns:
        The code, the spec and (when ``weights``) the weights, in that order. The code is
        generated here, so a spec that cannot be exported fails now, not on a click.

    Raises:
        SpecError: if the spec is invalid or its analysis fails.
    """
    spec = _spec(spec)
    stem = file_stem(spec)
    source = code.encode("utf-8") if code is not None else code_bytes(spec, **options)
    files = [
        Download("Download code (.py)", f"{stem}.py", "text/x-python", "py", lambda: source),
        Download(
            "Download design (.json)",
            f"{stem}.json",
            "application/json",
            "json",
            lambda: spec_json_bytes(spec),
        ),
    ]
    if weights:
        files.append(
            Download(
                "Download weights (.pt)",
                f"{stem}_weights.pt",
                "application/octet-stream",
                "pt",
                lambda: state_dict_bytes(model if model is not None else spec),
            )
        )
    return files


def model_listing(spec: Any) -> dict[str, str]:
    """What the article prints: ``print(net)``, each of ``net.modules()``, the first conv's shapes.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.

    Returns:
        ``{"print": ..., "modules": ..., "first_conv": ...}`` (the last is ``""`` without a conv).
    """
    model = build_model(spec)
    convs = [(n, m) for n, m in model.named_children() if isinstance(m, nn.modules.conv._ConvNd)]
    shapes = ""
    if convs:
        name, first = convs[0]
        bias = "None" if first.bias is None else str(first.bias.shape)
        shapes = f"{name}.weight.shape = {first.weight.shape}\n{name}.bias.shape = {bias}"
    return {
        "print": str(model),
        "modules": "\n".join(str(m) for m in model.modules()),
        "first_conv": shapes,
    }


def training_downloads(spec: Any, **options: Any) -> list[Download]:
    """The training script and notebook for a design (``train_lenet.py``, ``train_lenet.ipynb``).

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.
        **options: passed to ``generate_training_code`` (``optimizer``, ``lr``, ``batch_size``,
            ``epochs``, ``seed``, ``data``, ``test_fraction``): the Train tab's settings.

    Returns:
        The script, then the notebook. Both are generated here, so a design or setting that
        cannot be exported fails now (``SpecError``), not on a click.
    """
    from .training_code import generate_training_code, generate_training_notebook

    spec = _spec(spec)
    stem = f"train_{file_stem(spec)}"
    script = generate_training_code(spec, **options).encode("utf-8")
    notebook = generate_training_notebook(spec, **options).encode("utf-8")
    return [
        Download(
            "Download training script (.py)",
            f"{stem}.py",
            "text/x-python",
            "train_py",
            lambda: script,
        ),
        Download(
            "Download training notebook (.ipynb)",
            f"{stem}.ipynb",
            "application/x-ipynb+json",
            "train_ipynb",
            lambda: notebook,
        ),
    ]
