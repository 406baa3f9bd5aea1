"""Spec -> a real, initialized ``nn.Module``: construct every layer in order, then initialize.

The random stream is exactly that of plain torch code: ``torch.manual_seed(seed)``, the
constructors in order (each drawing its own default initialization), then each layer's
non-``default`` schemes in order, weight before bias. The caller's RNG state is restored.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .analysis import Analysis, analyze, require_ok
from .errors import SpecError
from .initializers import SLOW_SCHEMES, apply_init, init_seconds
from .limits import MAX_BUILD_PARAMS, MAX_INIT_SECONDS
from .rng import seeded
from .spec import INPUT, Layer, Spec, load_spec


class BuiltNet(nn.Module):
    """A network whose direct children are the spec's named layers (merges included: they hold
    no state), applied in order, each to the outputs its ``inputs`` name (SPEC.md "Graphs")."""

    def __init__(self, class_name: str = "Net") -> None:
        super().__init__()
        self._class_name = class_name
        self.spec: Spec | None = None
        self.init_plan: dict[str, dict[str, Any]] = {}
        self._wiring: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] | None = None

    def _get_name(self) -> str:
        return self._class_name

    def wire(self, spec: Spec) -> None:
        """Follow the spec's graph in ``forward``: per layer, its inputs and the values that
        are read for the last time there (freed as soon as they are); a plain stack stays a
        plain loop."""
        previous = INPUT
        chain = True
        last_use: dict[str, str] = {}
        for layer in spec.layers:
            chain = chain and layer.inputs == (previous,)
            previous = layer.name
            for name in layer.inputs:
                last_use[name] = layer.name
        if chain:
            self._wiring = None
            return
        self._wiring = tuple(
            (
                layer.name,
                layer.inputs,
                tuple(n for n in dict.fromkeys(layer.inputs) if last_use[n] == layer.name),
            )
            for layer in spec.layers
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._wiring is None:
            for layer in self.children():
                x = layer(x)
            return x
        values = {INPUT: x}
        modules = dict(self.named_children())
        name = INPUT
        for name, inputs, done in self._wiring:
            values[name] = modules[name](*(values[n] for n in inputs))
            for finished in done:
                del values[finished]
        return values[name]


def constructor_kwargs(layer: Layer, in_dim: int | None) -> dict[str, Any]:
    """The keyword arguments for the layer's torch constructor (lists become tuples).

    Args:
        layer: the validated layer.
        in_dim: the value of its type's ``in_key``, as the analysis inferred it
            (``LayerAnalysis.inferred``: the input's channels; LayerNorm's normalized shape).
    """
    kwargs: dict[str, Any] = {}
    for key, value in layer.args.items():
        kwargs[key] = tuple(value) if isinstance(value, list) else value
    if layer.entry.in_key:
        kwargs[layer.entry.in_key] = tuple(in_dim) if isinstance(in_dim, list) else in_dim
    return kwargs


def build_model(spec: Any) -> BuiltNet:
    """Build the spec's model, seeded and initialized.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.

    Returns:
        A ``BuiltNet`` with ``.spec`` and ``.init_plan`` (``{"conv1.weight": INIT}``) attached.

    Raises:
        SpecError: if the analysis fails, or the design is over ``MAX_BUILD_PARAMS`` or
            ``MAX_INIT_SECONDS`` (``check_init_cost``).
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
    check_init_cost(spec, analysis)
    check_init_fit(spec, analysis)
    net = BuiltNet(spec.class_name)
    net.spec = spec
    with seeded(spec.seed):  # alone on torch's global generator: see builder/rng.py
        for layer, row in zip(spec.layers, analysis.layers):
            net.add_module(layer.name, layer.entry.cls(**constructor_kwargs(layer, row.inferred)))
        net.wire(spec)
        for index, layer in enumerate(spec.layers):
            module = net.get_submodule(layer.name)
            for tensor_name, tensor in module.named_parameters(recurse=False):
                init = spec.init_for(index, tensor_name)
                net.init_plan[f"{layer.name}.{tensor_name}"] = init
                apply_init(tensor, init)
            if not layer.trainable:
                module.requires_grad_(False)
    return net


def check_init_cost(spec: Spec, analysis: Analysis) -> None:
    """Refuse a design whose slow initializers would hold the build lock too long.

    Building holds ``builder.rng.RNG_LOCK``, so every other session's build waits for it: the
    estimated seconds of ``orthogonal``, ``sparse`` and ``trunc_normal``
    (``initializers.init_seconds``), summed over the design, must stay within
    ``MAX_INIT_SECONDS``.

    Raises:
        SpecError: naming the costliest layer, tensor and scheme, and the limit.
    """
    total, worst = 0.0, (0.0, 0, "", (0,), "")
    for index, row in enumerate(analysis.layers):
        for tensor_name, shape in row.tensors:
            init = spec.init_for(index, tensor_name)
            seconds = init_seconds(init, shape)
            total += seconds
            if seconds > worst[0]:
                worst = (seconds, index, tensor_name, shape, init["scheme"])
    if total <= MAX_INIT_SECONDS:
        return
    seconds, index, tensor_name, shape, scheme = worst
    layer = spec.layers[index]
    overall = "" if seconds == total else f" (the design's slow initializers: {total:.3g} s)"
    raise SpecError(
        f"layer {index + 1} ({layer.name}): {scheme} on its {'×'.join(map(str, shape))} "
        f"{tensor_name} would take about {seconds:.3g} s ({SLOW_SCHEMES[scheme]}){overall}, "
        "and a build holds a lock every session shares; slow initializers are limited to "
        f"{MAX_INIT_SECONDS:g} s per design: use another scheme (e.g. xavier_normal or "
        "kaiming_normal) or a smaller layer"
    )


def check_init_fit(spec: Spec, analysis: Analysis) -> None:
    """Refuse an initializer that does not fit its tensor's analysed shape.

    ``load_spec`` checks what a layer's own arguments show; what depends on the input shows only
    here: ``dirac`` with ``groups`` needs the weight's first dimension divisible by ``groups``
    (torch's ``dirac_``), and that dimension is ConvTranspose2d's inferred ``in_channels``.

    Raises:
        SpecError: naming the layer, the tensor and the numbers.
    """
    for index, row in enumerate(analysis.layers):
        for tensor_name, shape in row.tensors:
            init = spec.init_for(index, tensor_name)
            groups = init.get("groups", 1)
            if init["scheme"] == "dirac" and shape and shape[0] % groups:
                layer = spec.layers[index]
                dims = "×".join(map(str, shape))
                raise SpecError(
                    f"layer {index + 1} ({layer.name}): dirac with groups={groups} needs the "
                    f"first dimension of its {dims} {tensor_name} ({shape[0]}) divisible by "
                    f"{groups}"
                )
