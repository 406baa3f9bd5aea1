"""Signal through depth: a seeded random batch through the model, each layer's output measured.

This is the classroom demonstration of vanishing and exploding signals. Each layer with weights
multiplies the second moment of its input by about ``fan_in · Var(w)`` (a ReLU then halves it), so
ten Conv-ReLU layers with ``N(0, 0.01²)`` weights and fan-in 144 shrink it by
``(144 · 10⁻⁴ / 2)¹⁰ ≈ 4·10⁻²²``, while Kaiming's ``Var(w) = 2 / fan_in`` keeps it level.

The measurement leaves the model as it found it: its training flags, its buffers (BatchNorm's
running statistics, which a train-mode pass would update) and the global random state are all
restored.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from .model import build_model
from .rng import RNG_LOCK
from .spec import load_spec

Mode = Literal["eval", "train"]
MODES: tuple[str, ...] = ("eval", "train")


@dataclass(frozen=True)
class ActivationStat:
    """One layer's output over the whole batch.

    Attributes:
        index: depth: 0 is the input batch itself, ``k`` the output of the k-th layer run.
        name: the layer's name (``"conv1"``; ``"input"`` for index 0).
        type: its class name (``"Conv2d"``; ``"Input"`` for index 0).
        shape: the output shape of one sample (no batch dimension).
        mean: the mean over every element of the batch's output.
        std: ``torch.std`` (Bessel-corrected) over the same elements.
        zero_fraction: the fraction of elements exactly 0.0 (dead ReLU units show up here).
    """

    index: int
    name: str
    type: str
    shape: tuple[int, ...]
    mean: float
    std: float
    zero_fraction: float


def activation_stats(
    model: nn.Module,
    input_shape: Sequence[int] | None = None,
    batch_size: int = 64,
    seed: int = 0,
    mode: Mode = "eval",
) -> list[ActivationStat]:
    """Run a seeded standard-normal batch through ``model`` and measure each layer's output.

    The layers measured are the model's leaf modules (those without children: for a ``BuiltNet``
    its layers), in the order they run, by forward hooks. A layer whose output is not a tensor is
    skipped; a layer that runs twice is recorded twice.

    Args:
        model: the network, e.g. from ``builder.build_model``.
        input_shape: the shape of one sample (``[C, H, W]`` or ``[F]``); defaults to the model's
            ``spec.input_shape`` when it has one.
        batch_size: how many samples (>= 2, so a std exists).
        seed: seeds the input batch and, in train mode, Dropout's masks.
        mode: ``"eval"`` (Dropout off, BatchNorm uses its running statistics) or ``"train"``
            (Dropout on, BatchNorm normalizes with the batch's statistics).

    Returns:
        Index 0 describes the input batch, then one ``ActivationStat`` per layer run.

    Raises:
        ValueError: for an unknown ``mode``, a ``batch_size`` below 2, or no ``input_shape``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'eval' or 'train', got {mode!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size must be an integer >= 2, got {batch_size!r}")
    if input_shape is None:
        spec = getattr(model, "spec", None)
        if spec is None:
            raise ValueError("input_shape is needed for a model without a spec")
        input_shape = spec.input_shape
    shape = tuple(int(s) for s in input_shape)
    first = next(model.parameters(), None)
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    device = first.device if first is not None else torch.device("cpu")

    records: list[tuple[str, str, tuple[int, ...], torch.Tensor]] = []

    def hook(name: str) -> Any:
        def record(module: nn.Module, args: Any, output: Any) -> None:
            if isinstance(output, torch.Tensor):
                summary = _summary(output)
                records.append((name, type(module).__name__, tuple(output.shape[1:]), summary))

        return record

    flags = {module: module.training for module in model.modules()}
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    leaves = [(n, m) for n, m in model.named_modules() if n and next(m.children(), None) is None]
    handles = [m.register_forward_hook(hook(n)) for n, m in leaves or [("output", model)]]
    try:
        with torch.no_grad(), RNG_LOCK, torch.random.fork_rng(devices=_rng_devices(device)):
            torch.manual_seed(seed)
            generator = torch.Generator().manual_seed(seed)
            batch = torch.randn((batch_size, *shape), generator=generator).to(device, dtype)
            records.append(("input", "Input", shape, _summary(batch)))
            model.train(mode == "train")
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in flags.items():
            module.training = flag
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
    stats = []
    for index, (name, layer_type, out_shape, summary) in enumerate(records):
        mean, std, zeros = summary.tolist()
        stats.append(ActivationStat(index, name, layer_type, out_shape, mean, std, zeros))
    return stats


def compare_plans(
    spec: Any,
    init_a: Mapping[str, Any],
    init_b: Mapping[str, Any],
    batch_size: int = 64,
    seed: int = 0,
    mode: Mode = "eval",
    keep_layer_init: bool = False,
) -> tuple[list[ActivationStat], list[ActivationStat]]:
    """The same design built with two initializer plans, and each one's signal through depth.

    Both models come from the same seed, so where the plans share a scheme the weights are equal;
    the input batch is the same too. Only the initialization differs.

    Args:
        spec: the design (a ``Spec`` or anything ``builder.load_spec`` accepts).
        init_a: the first plan, in the spec's top-level ``init`` form
            (``{"Conv2d": {"weight": INIT, "bias": INIT}, ...}``).
        init_b: the second plan.
        batch_size: samples per batch.
        seed: seeds the input (the weights use the spec's own ``seed``).
        mode: ``"eval"`` or ``"train"``.
        keep_layer_init: keep the layers' own ``init`` overrides (by default they are dropped, so
            each plan applies to every layer of its type).

    Returns:
        ``(stats_a, stats_b)`` as ``activation_stats`` returns them.

    Raises:
        SpecError: if the design or a plan is invalid.
    """
    results = []
    for plan in (init_a, init_b):
        design = with_plan(spec, plan, keep_layer_init)
        model = build_model(design)
        results.append(activation_stats(model, None, batch_size, seed, mode))
    return results[0], results[1]


def with_plan(spec: Any, init: Mapping[str, Any], keep_layer_init: bool = False) -> dict[str, Any]:
    """A copy of the design as a spec dict with its top-level ``init`` replaced by ``init``.

    Args:
        spec: the design (a ``Spec`` or anything ``builder.load_spec`` accepts).
        init: the new plan, ``{TYPE: {"weight": INIT, "bias": INIT}}``.
        keep_layer_init: keep the layers' own ``init`` overrides.

    Returns:
        The new spec dict (validated when it is built or loaded).
    """
    design = load_spec(spec).to_dict()
    design["init"] = copy.deepcopy(dict(init))
    if not keep_layer_init:
        for layer in design["layers"]:
            layer.pop("init", None)
    return design


def _summary(t: torch.Tensor) -> torch.Tensor:
    """``[mean, std, zero fraction]`` of a layer's output, kept in torch (read once at the end)."""
    flat = t.detach().reshape(-1)
    if flat.numel() > 1:
        std, mean = torch.std_mean(flat)
    else:  # one element: no spread to estimate; report 0 rather than torch.std's NaN
        std, mean = flat.new_zeros(()), flat.sum()
    zeros = (flat == 0).sum().to(torch.float64) / max(flat.numel(), 1)
    return torch.stack([mean.to(torch.float64), std.to(torch.float64), zeros]).cpu()


def _rng_devices(device: torch.device) -> list[Any]:
    return [device] if device.type == "cuda" else []
