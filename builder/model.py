"""Spec -> a real, initialized ``nn.Module``: construct every layer in order, then initialize.

The random stream is exactly that of plain torch code: ``torch.manual_seed(seed)``, the
constructors in order (each drawing its own default initialization), then each layer's
non-``default`` schemes in order, weight before bias. The caller's RNG state is restored.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .analysis import analyze, require_ok
from .errors import SpecError
from .initializers import apply_init
from .limits import MAX_BUILD_PARAMS
from .rng import seeded
from .spec import Layer, Spec, load_spec


class BuiltNet(nn.Module):
    """A network whose direct children are the spec's named layers, applied in order."""

    def __init__(self, class_name: str = "Net") -> None:
        super().__init__()
        self._class_name = class_name
        self.spec: Spec | None = None
        self.init_plan: dict[str, dict[str, Any]] = {}

    def _get_name(self) -> str:
        return self._class_name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = layer(x)
        return x


def constructor_kwargs(layer: Layer, in_dim: int | None) -> dict[str, Any]:
    """The keyword arguments for the layer's torch constructor (lists become tuples)."""
    kwargs: dict[str, Any] = {}
    for key, value in layer.args.items():
        kwargs[key] = tuple(value) if isinstance(value, list) else value
    if layer.entry.in_key:
        kwargs[layer.entry.in_key] = in_dim
    return kwargs


def build_model(spec: Any) -> BuiltNet:
    """Build the spec's model, seeded and initialized.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.

    Returns:
        A ``BuiltNet`` with ``.spec`` and ``.init_plan`` (``{"conv1.weight": INIT}``) attached.

    Raises:
        SpecError: if the analysis fails.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    analysis = analyze(spec)
    require_ok(analysis)
    if analysis.total_params > MAX_BUILD_PARAMS:
        raise SpecError(
            f"the design has {analysis.total_params:,} parameters; building is limited to "
            f"{MAX_BUILD_PARAMS:,} ({MAX_BUILD_PARAMS * 4 / 1e9:.0f} GB of float32). "
            "The analysis still covers it."
        )
    net = BuiltNet(spec.class_name)
    net.spec = spec
    with seeded(spec.seed):  # alone on torch's global generator: see builder/rng.py
        for layer, row in zip(spec.layers, analysis.layers):
            in_dim = row.input_shape[0] if layer.entry.in_key else None
            net.add_module(layer.name, layer.entry.cls(**constructor_kwargs(layer, in_dim)))
        for index, layer in enumerate(spec.layers):
            module = net.get_submodule(layer.name)
            for tensor_name, tensor in module.named_parameters(recurse=False):
                init = spec.init_for(index, tensor_name)
                net.init_plan[f"{layer.name}.{tensor_name}"] = init
                apply_init(tensor, init)
            if not layer.trainable:
                module.requires_grad_(False)
    return net
