"""Signal through depth: a seeded random batch through the model, each layer's output measured.

This is the classroom demonstration of vanishing and exploding signals. Each layer with weights
multiplies the second moment of its input by about ``fan_in · Var(w)`` (a ReLU then halves it), so
ten Conv-ReLU layers with ``N(0, 0.01²)`` weights and fan-in 144 shrink it by
``(144 · 10⁻⁴ / 2)¹⁰ ≈ 4·10⁻²²``, while Kaiming's ``Var(w) = 2 / fan_in`` keeps it level.

The measurement leaves the model as it found it: its training flags, its buffers (BatchNorm's
running statistics, which a train-mode pass would update) and the global random state are all
restored. The input batch comes from a ``torch.Generator`` of its own, and the pass holds
``RNG_LOCK`` (other sessions' builds wait) only where the global generator is really drawn
from: train mode with Dropout.

Bounds (``builder.limits``): a design's pass is refused when one sample needs more than
``MAX_HEAVY_MACS`` multiply-adds as ``heavy_macs`` weighs them, and the batch is capped by
``MAX_SIGNAL_ELEMENTS`` (activation elements) and ``MAX_PASS_MACS`` (multiply-adds of the whole
batch); ``signal_batch_size`` gives the batch that fits.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from .analysis import Analysis, LayerAnalysis, analyze, require_ok
from .errors import SpecError
from .layers import macs_per_position
from .limits import (
    CONV_LANES,
    MAX_HEAVY_MACS,
    MAX_PASS_MACS,
    MAX_SIGNAL_ELEMENTS,
    POOL_WEIGHT,
    SLOW_CONV_WEIGHT,
    SLOW_PADDING,
    STATS_WEIGHT,
)
from .model import build_model
from .rng import RNG_LOCK, PrivateStream
from .spec import INPUT, Layer, Spec, load_spec

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
    skipped; a layer that runs twice is recorded twice. On a graph a merge (``Add``, ``Concat``)
    is such a leaf too: its row describes its output (the sum, the concatenation), whatever
    its inputs were, and the rows come in the spec's order, which is the order they run.

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
        SpecError: for a model with a ``spec`` (``builder.build_model``'s), when the pass is
            over the limits: ``signal_batch_size`` tells the largest batch that fits. (A plain
            ``nn.Module`` is the caller's own code and is not bounded.)
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'eval' or 'train', got {mode!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size must be an integer >= 2, got {batch_size!r}")
    spec = getattr(model, "spec", None)
    if isinstance(spec, Spec):  # a model of ours: its design bounds the work (see limits.py)
        _require_batch(spec, batch_size)
    if input_shape is None:
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
        with torch.no_grad():
            generator = torch.Generator().manual_seed(seed)
            batch = torch.randn((batch_size, *shape), generator=generator).to(device, dtype)
            records.append(("input", "Input", shape, _summary(batch)))
            model.train(mode == "train")
            with _global_randomness(model, mode, seed, device):
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
        SpecError: if the design or a plan is invalid, or the pass is over the limits
            (checked before either model is built).
        ValueError: for a bad ``mode`` or ``batch_size``.
    """
    designs = [with_plan(spec, plan, keep_layer_init) for plan in (init_a, init_b)]
    _require_batch(designs[0], batch_size)  # a plan changes no shape or cost: one check
    results = []
    for design in designs:
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


# --- bounds ---------------------------------------------------------------------------------


def signal_batch_size(spec: Any, requested: int) -> int:
    """The batch a signal pass of this design may use: ``requested``, capped by the limits.

    Args:
        spec: the design (a ``Spec`` or anything ``builder.load_spec`` accepts).
        requested: the batch wanted (>= 2); ``signal_batch_size(spec, 512)`` is the largest
            batch up to 512 that fits, e.g. for a widget's maximum.

    Returns:
        ``min(requested, MAX_SIGNAL_ELEMENTS // signal_elements, MAX_PASS_MACS // heavy_macs)``.

    Raises:
        SpecError: if the design fails analysis, one sample needs more than ``MAX_HEAVY_MACS``
            multiply-adds, or not even a batch of 2 fits; the message names the figure and the
            limit.
        ValueError: for a ``requested`` below 2.
    """
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 2:
        raise ValueError(f"batch_size must be an integer >= 2, got {requested!r}")
    spec, analysis = _analyzed(spec)
    elements = signal_elements(spec, analysis)
    if 2 * elements > MAX_SIGNAL_ELEMENTS:
        raise SpecError(
            f"this design holds {elements:,} activation elements per sample in a signal pass "
            "(the input, the largest layer's inputs and output, and the values kept for later "
            "layers); the signal tab's limit is "
            f"{MAX_SIGNAL_ELEMENTS:,} for a batch of 2: use a smaller input_shape or fewer "
            "channels"
        )
    macs = heavy_macs(spec, analysis)
    measured = sum(row.activations for row in analysis.layers)
    cost = macs + STATS_WEIGHT * measured  # every layer's output is also measured
    if macs > MAX_HEAVY_MACS:
        raise SpecError(heavy_message(spec, analysis, "the signal tab's limit", MAX_HEAVY_MACS))
    if cost > MAX_HEAVY_MACS or 2 * cost > MAX_PASS_MACS:
        raise SpecError(
            f"a signal pass of this design costs {_count(cost)} multiply-adds per sample as the "
            f"limits weigh them ({_count(macs)} for its layers, and {_count(measured)} output "
            f"elements measured at ×{STATS_WEIGHT}); the signal tab's limit is "
            f"{_count(min(MAX_HEAVY_MACS, MAX_PASS_MACS // 2))}: use a smaller input_shape or "
            "fewer layers"
        )
    return min(requested, MAX_SIGNAL_ELEMENTS // elements, MAX_PASS_MACS // max(cost, 1))


def signal_elements(spec: Any, analysis: Analysis | None = None) -> int:
    """Activation elements a signal pass holds at once, per sample: the input batch (kept to the
    end), plus the most any layer holds while it runs: its inputs and its output together, and
    on a graph every value still to be read by a later layer (a skip waiting for its merge, the
    other branches of an Inception block). Without gradients nothing else is kept: each output is
    measured, then freed once its last reader has run (measured on VGG16's convolutions: 32 MB
    more per sample, where all its outputs together are 115 MB). An ``Add`` of three or more
    inputs sums them pairwise and so briefly holds two outputs. A layer that reads the input
    counts it among its inputs as well (an over-count of at most one input).

    Args:
        spec: the design (a ``Spec`` or anything ``builder.load_spec`` accepts).
        analysis: its analysis, if already computed.

    Raises:
        SpecError: if the design fails analysis.
    """
    spec, analysis = _analyzed(spec, analysis)
    sample = math.prod(analysis.input_shape)
    sizes = {INPUT: sample, **{row.name: row.activations for row in analysis.layers}}
    last_read = {name: row.index for row in analysis.layers for name in row.inputs}
    waiting: dict[str, int] = {}  # outputs produced and read later (the input is counted apart)
    widest = 0
    for row in analysis.layers:
        reads = dict.fromkeys(row.inputs)
        outputs = 2 if row.type == "Add" and len(row.inputs) > 2 else 1
        held = sum(sizes[name] for name in reads) + outputs * row.activations
        held += sum(size for name, size in waiting.items() if name not in reads)
        widest = max(widest, held)
        for name in reads:
            if last_read[name] == row.index:
                waiting.pop(name, None)
        if row.used_by:
            waiting[row.name] = row.activations
    return sample + widest


def heavy_macs(spec: Any, analysis: Analysis | None = None) -> int:
    """Multiply-adds of one sample's forward pass, weighted by how fast torch runs them.

    The layer table's mult-adds (torchinfo's count), except that a convolution with fewer than
    ``CONV_LANES`` output channels per group counts as if it had that many, one with zero
    padding of ``SLOW_PADDING`` or more counts ``SLOW_CONV_WEIGHT`` times, and a pooling layer
    counts ``POOL_WEIGHT`` for each element of each window (see ``builder.limits``).

    Args:
        spec: the design (a ``Spec`` or anything ``builder.load_spec`` accepts).
        analysis: its analysis, if already computed.

    Raises:
        SpecError: if the design fails analysis.
    """
    spec, analysis = _analyzed(spec, analysis)
    return sum(_layer_cost(layer, row)[0] for layer, row in zip(spec.layers, analysis.layers))


def heavy_message(spec: Any, analysis: Analysis | None, limit: str, value: int) -> str:
    """Why ``heavy_macs`` is over ``value``: the figure, the heaviest layer, and the limit."""
    spec, analysis = _analyzed(spec, analysis)
    costs = [_layer_cost(layer, row) for layer, row in zip(spec.layers, analysis.layers)]
    total = sum(cost for cost, _ in costs)
    index = max(range(len(costs)), key=lambda i: costs[i][0])
    row = analysis.layers[index]
    return (
        f"this design needs {_count(total)} multiply-adds per sample as the limits weigh them "
        f"(the most: layer {index + 1} ({row.name}), {costs[index][1]}); {limit} is "
        f"{_count(value)}: use a smaller input_shape, kernel or padding, or fewer channels"
    )


def _require_batch(spec: Any, batch_size: int) -> None:
    fits = signal_batch_size(spec, batch_size)
    if fits < batch_size:
        raise SpecError(
            f"a signal batch of {batch_size} is over the limits for this design (activation "
            f"elements or multiply-adds): use batch_size {fits} or less"
        )


def _analyzed(spec: Any, analysis: Analysis | None = None) -> tuple[Spec, Analysis]:
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    if analysis is None:
        analysis = analyze(spec)
    require_ok(analysis)
    return spec, analysis


def _layer_cost(layer: Layer, row: LayerAnalysis) -> tuple[int, str]:
    """One sample's weighted multiply-adds at this layer, and how they were counted.

    The registry says what a layer is: a convolution counts its mult-adds per output position
    (``macs_per_position``), a pooling layer has windows (or is adaptive); the rest count the
    layer table's mult-adds.
    """
    args = layer.resolved()
    entry = layer.entry
    out = row.output_shape or ()
    if entry.macs is macs_per_position:
        raw, weight, notes = row.mult_adds, 1, []
        per_group = args["out_channels"] // args["groups"]
        if per_group < CONV_LANES:
            weight *= math.ceil(CONV_LANES / per_group)
            notes.append(f"×{weight} for {per_group} output channels per group")
        # the zero padding torch hands to the kernel ("same" pads any odd extra one separately)
        pad = max((w.pad_left for w in entry.windows(args)), default=0) if entry.windows else 0
        if args.get("padding_mode", "zeros") == "zeros" and pad >= SLOW_PADDING:
            weight *= SLOW_CONV_WEIGHT
            notes.append(f"×{SLOW_CONV_WEIGHT} for zero padding {pad} (a slow kernel)")
        return raw * weight, ", ".join([f"{_count(raw)} multiply-adds", *notes])
    if entry.category == "pooling" and (entry.adaptive or entry.windows is not None):
        if entry.adaptive:  # torch's windows: at most ceil(in/out) + 1 wide
            sizes = zip(row.input_shape[1:], out[1:]) if row.input_shape else ()
            window = math.prod(-(-i // o) + (i % o > 0) for i, o in sizes)
        else:
            window = math.prod(w.kernel for w in entry.windows(args))
        raw = math.prod(out) * window
        return raw * POOL_WEIGHT, f"{_count(raw)} window elements ×{POOL_WEIGHT}"
    return row.mult_adds, f"{_count(row.mult_adds)} multiply-adds"


def _count(n: int) -> str:
    """``15.5 G``: a large count, readably."""
    for value, unit in ((1e12, " T"), (1e9, " G"), (1e6, " M"), (1e3, " k")):
        if n >= value:
            scaled = n / value
            return (f"{scaled:,.0f}" if scaled >= 100 else f"{scaled:.3g}") + unit
    return f"{n:,}"


@contextlib.contextmanager
def _global_randomness(
    model: nn.Module, mode: str, seed: int, device: torch.device
) -> Iterator[None]:
    """The global generator, seeded, for a pass that draws from it; nothing for one that does
    not (so other sessions' builds need not wait). Train-mode Dropout draws; so may code that is
    not torch's own, in either mode."""
    foreign = any(
        not type(m).__module__.startswith(("torch.nn.", "builder.")) for m in model.modules()
    )
    dropout = mode == "train" and any(isinstance(m, _RANDOM_IN_TRAINING) for m in model.modules())
    if not (foreign or dropout):
        yield
    elif device.type == "cuda":
        with RNG_LOCK, torch.random.fork_rng(devices=[device]):
            torch.manual_seed(seed)
            yield
    else:
        with PrivateStream(seed).active():
            yield


_RANDOM_IN_TRAINING = (nn.modules.dropout._DropoutNd, nn.RReLU)


def _summary(t: torch.Tensor) -> torch.Tensor:
    """``[mean, std, zero fraction]`` of a layer's output, kept in torch (read once at the end)."""
    flat = t.detach().reshape(-1)
    if flat.numel() > 1:
        std, mean = torch.std_mean(flat)
    else:  # one element: no spread to estimate; report 0 rather than torch.std's NaN
        std, mean = flat.new_zeros(()), flat.sum()
    zeros = (flat.numel() - torch.count_nonzero(flat)).to(torch.float64) / max(flat.numel(), 1)
    return torch.stack([mean.to(torch.float64), std.to(torch.float64), zeros]).cpu()
