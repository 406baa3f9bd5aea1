"""How much memory training a design takes, from the analysis alone (no weights are allocated).

The model, for one training step (``zero_grad(set_to_none=True)``, forward, backward, optimizer
step) with every tensor in one ``dtype`` (pure low-precision training; mixed precision would add
a float32 master copy of the weights, which is not counted):

- **parameters**: every parameter, ``numel × bytes per value``.
- **gradients**: one per trainable parameter (frozen layers have none).
- **optimizer state**, per trainable parameter tensor, as torch keeps it: Adam two moments
  (``exp_avg``, ``exp_avg_sq``, same dtype and shape) plus a ``step`` counter (a float32 scalar);
  SGD with momentum one ``momentum_buffer``; plain SGD nothing.
- **saved activations**: what autograd keeps for the backward pass, per layer type as the
  registry's ``saves`` lists it (``builder.layers.base.SAVED_KINDS``): a convolution or Linear
  its input, ReLU its output, a max pool its input and int64 indices, BatchNorm its input and
  per-channel statistics, Dropout a mask; views (Flatten), in-place activations and merges
  (``Add``, ``Concat``) keep nothing new. A tensor kept by two layers (a ReLU's output that the
  next convolution reads) is one storage, counted once; the input batch is its own part.
  ``MemoryEstimate.activations`` keeps the older upper bound, every layer's output.
- **input**: the input batch. **buffers**: BatchNorm's running statistics (in ``dtype``) and
  ``num_batches_tracked`` (an int64).
- **temporaries**: the gradients of the activations in flight during the backward pass, and the
  optimizer step's intermediates (Adam's ``foreach`` step makes one parameter-sized tensor,
  ``sqrt(exp_avg_sq)``; SGD none), plus ``WORKSPACE_BYTES`` for the cuBLAS workspaces.

The peak is found by walking the step: the forward pass (a layer's output lives until its last
reader has run, or to the backward pass if saved), the backward pass in reverse order (each
layer adds its parameters' gradients and its input's gradient, then frees what only it saved and
its output's gradient), and the optimizer step. The breakdown is what is alive at that peak.

On top of the peak (what ``torch.cuda.max_memory_allocated`` reports): the caching allocator
rounds every tensor up to ``ALLOCATOR_BLOCK`` bytes and keeps freed blocks cached
(``ACTIVATION_CACHE``: ``torch.cuda.max_memory_reserved`` over the allocated peak), and
the CUDA context takes ``CUDA_CONTEXT_BYTES`` outside torch's allocator. ``total`` is all of it:
what a GPU must have, which ``fits`` compares with its size.

Not counted: the loss's own saved tensors (cross-entropy keeps a batch × classes log-softmax),
cuDNN's per-convolution workspaces, gradient accumulation across an ``Add``'s two paths (a
transient sum), and the data loader.

Checked: the saved activations against ``torch.autograd.graph.saved_tensors_hooks`` on CPU for
every preset, test design, layer type and random stack or graph (``tests/test_memory_model.py``:
exactly, where issue 15's goal is ±10 %); the whole step against the H200 figures of issue 15
(``bench/bench_gpu_memory.py`` measures it wherever CUDA exists).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from .analysis import Analysis, analyze
from .errors import SpecError
from .figures import FONT_SIZE, SMALL_FONT_SIZE, TEMPLATE
from .layers import REGISTRY
from .messages import N_, Translator, localize
from .spec import Spec, _show, load_spec

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
OPTIMIZER_MOMENTS = {"adam": 2, "sgd": 0, "sgd_momentum": 1}
"""Tensors the optimizer keeps per trainable parameter tensor, each the parameter's size."""
STEP_BYTES = {"adam": 4, "sgd": 0, "sgd_momentum": 0}
"""Adam's per-tensor ``step`` counter: a float32 scalar."""
STEP_TEMPORARIES = {"adam": 1, "sgd": 0, "sgd_momentum": 0}
"""Parameter-sized intermediates of one optimizer step: torch's ``foreach`` Adam (the default on
CUDA, ``torch/optim/adam.py`` ``_multi_tensor_adam``) computes ``exp_avg_sq_sqrt =
torch._foreach_sqrt(exp_avg_sqs)`` and updates in place; SGD (no weight decay, no Nesterov)
updates in place. Issue 15 measured +19 % over the older estimate for VGG16 at batch 1 with Adam:
this parameter-sized tensor."""
INDEX_BYTES = 8  # num_batches_tracked and max-pool indices are int64
GPU_SIZES_GB = (8, 16, 24, 80)
GIB = 2**30
MIB = 2**20
CUDA_CONTEXT_BYTES = GIB // 2
"""The CUDA context (kernels of torch, cuDNN and cuBLAS loaded on the GPU): a few hundred MB on
every GPU, outside torch's allocator (``nvidia-smi`` shows it, ``memory_reserved`` does not)."""
CUDA_RESERVE_BYTES = CUDA_CONTEXT_BYTES  # the older name
WORKSPACE_BYTES = 64 * MIB
"""Library workspaces counted in ``max_memory_allocated`` whatever the design: torch gives cuBLAS
a 32 MiB workspace on Hopper (``CUBLAS_WORKSPACE_CONFIG`` default ``:4096:8``) and cuBLASLt one
of its own. cuDNN's per-convolution workspaces depend on the algorithm chosen and are not
modelled: below about 100 MB of step they, and this constant, dominate the measured peak."""
ALLOCATOR_BLOCK = 512
"""The CUDA caching allocator rounds every allocation up to a multiple of 512 bytes
(``c10/cuda/CUDACachingAllocator.cpp``, ``kMinBlockSize``)."""
SEGMENT = 2 * MIB
"""The allocator reserves memory from the GPU in segments, multiples of 2 MiB."""
ACTIVATION_CACHE = 0.97
"""Reserved beyond the allocated peak, per byte of activation memory alive at the peak (saved
tensors, the input batch, gradients in flight): the forward's unsaved outputs and the
backward's gradients, freed, stay cached in blocks of their own sizes, while parameters,
gradients and optimizer state are allocated once. From issue 15's H200 figure for VGG16 at batch
128, float32: 21.0 GB reserved − 11.9 GB allocated over the 9.43 GB this model has alive at the
peak. A GPU short of memory frees its cache and retries before failing, so a step may still run
with less: ``fits`` is the safe reading. ``bench/bench_gpu_memory.py`` prints the measured
reserved memory per design to recalibrate."""
MAX_BATCH = 2**20

SAVED_GROUPS = {
    "input": "saved_activations",
    "output": "saved_activations",
    "input_copy": "saved_activations",
    "padded_input": "saved_activations",
    "indices": "pooling_indices",
    "mask": "dropout_masks",
    "channel_mask": "dropout_masks",
    "channel_stats": "norm_statistics",
    "group_stats": "norm_statistics",
    "row_stats": "norm_statistics",
    "instance_stats": "norm_statistics",
}
"""Which part of the breakdown each saved kind (``SAVED_KINDS``) falls in."""
SAVED_PARTS = ("saved_activations", "pooling_indices", "dropout_masks", "norm_statistics")
PARTS = (
    "parameters",
    "buffers",
    "optimizer_state",
    "gradients",
    "input",
    *SAVED_PARTS,
    "temporaries",
    "allocator",
    "cuda_context",
)
"""The breakdown of ``MemoryEstimate.parts``: what is alive at the peak, then the allocator's
rounding and cache, then the CUDA context."""
PASS_THROUGH = ("Add", "Concat")
"""Merges whose backward hands the output's gradient on without a new tensor (the same tensor
to every input of an ``Add``, views of it to a ``Concat``'s)."""


@dataclass(frozen=True)
class LayerMemory:
    """One layer's share: its parameters' bytes, its output's bytes for the whole batch, and the
    bytes autograd keeps for it that no earlier layer already keeps."""

    name: str
    type: str
    parameters: int
    activations: int
    saved: int = 0


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes of one training step (see the module docstring for what each part counts).

    Attributes:
        batch_size, dtype, optimizer: what was asked.
        bytes_per_value: 4 for float32, 2 for float16 / bfloat16.
        parameters, gradients, optimizer_state, input, buffers: bytes (all of them).
        activations: every layer's output for the batch (the older upper bound).
        saved: what autograd keeps for the backward pass (the input batch apart).
        saved_parts: ``saved`` by part (``SAVED_PARTS``).
        peak: the most allocated at once (``torch.cuda.max_memory_allocated``'s reading).
        peak_at: when: ``"forward: conv1"``, ``"backward: fc2"`` or ``"optimizer step"``.
        at_peak: what is alive then, by part (``PARTS`` up to ``temporaries``).
        reserved: what the allocator holds (``peak`` rounded and cached).
        param_count: parameters (elements); trainable_count: the trainable ones.
        activation_elements: elements of all layer outputs for the batch.
        layers: each layer's share.
    """

    batch_size: int
    dtype: str
    optimizer: str
    bytes_per_value: int
    parameters: int
    gradients: int
    optimizer_state: int
    activations: int
    input: int
    buffers: int
    param_count: int
    trainable_count: int
    activation_elements: int
    layers: tuple[LayerMemory, ...] = ()
    saved: int = 0
    saved_parts: dict[str, int] = field(default_factory=dict)
    peak: int = 0
    peak_at: str = ""
    at_peak: dict[str, int] = field(default_factory=dict)
    reserved: int = 0

    @property
    def total(self) -> int:
        """What the GPU must have: the reserved memory and the CUDA context."""
        return self.reserved + CUDA_CONTEXT_BYTES

    def parts(self) -> dict[str, int]:
        """``{part: bytes}`` in ``PARTS`` order, summing to ``total``."""
        return {
            **{part: self.at_peak.get(part, 0) for part in PARTS[:-2]},
            "allocator": self.reserved - sum(self.at_peak.values()),
            "cuda_context": CUDA_CONTEXT_BYTES,
        }

    def fits_on(self, gb: float) -> bool:
        """Whether the step fits on a GPU with ``gb`` GB (see ``fits``)."""
        return fits(self.total, gb)


def fits(total_bytes: int, gb: float) -> bool:
    """Whether ``total_bytes`` (an estimate's ``total``: reserved memory and the CUDA context)
    fit on a GPU sold as ``gb`` GB: a "24 GB" card has 24 GiB (24 · 2³⁰ bytes)."""
    return total_bytes <= gb * GIB


def _round(n: int) -> int:
    return -(-n // ALLOCATOR_BLOCK) * ALLOCATOR_BLOCK


@dataclass
class _Step:
    """The tensors of one training step, keyed by storage: ``tensor`` maps each layer's name
    (and ``"input"``) to its output's storage; ``size`` gives each storage's bytes; ``saved``
    each saved storage's (bytes, part, the first layer that saves it)."""

    tensor: dict[str, str]
    size: dict[str, int]
    saved: dict[str, tuple[int, str, int]]
    grad: dict[str, bool]

    def first_kept(self) -> dict[int, list[str]]:
        """Layer index -> the saved storages it is the first to keep."""
        firsts: dict[int, list[str]] = {}
        for key, (_, _, first) in self.saved.items():
            firsts.setdefault(first, []).append(key)
        return firsts


def _saved_bytes(
    kind: str, row: Any, args: dict[str, Any], batch: int, size: int, device: str
) -> int:
    """Bytes of one saved tensor of ``kind`` (``SAVED_KINDS``) that is not a layer's output."""
    in_shape, out = row.input_shape, batch * row.activations
    stats = size if device == "cpu" else 4  # cuDNN keeps BatchNorm statistics in float32
    if kind == "input_copy":
        return batch * math.prod(in_shape) * size
    if kind == "padded_input":
        wins = REGISTRY[row.type].windows(args)
        full = args["padding_mode"] != "zeros"
        sizes = [
            s + (w.pad_left + w.pad_right if full else w.pad_right - w.pad_left)
            for s, w in zip(in_shape[1:], wins)
        ]
        return batch * in_shape[0] * math.prod(sizes) * size
    if kind == "indices":
        return out * INDEX_BYTES
    if kind == "mask":
        return out * (size if device == "cpu" else 1)  # CUDA's fused dropout keeps a bool mask
    if kind == "channel_mask":
        return batch * in_shape[0] * size
    if kind == "channel_stats":
        return in_shape[0] * stats
    if kind == "group_stats":
        return batch * args["num_groups"] * stats
    if kind == "instance_stats":
        return batch * in_shape[0] * stats
    if kind == "row_stats":
        trailing = 1 if isinstance(row.inferred, int) else len(row.inferred)
        return batch * math.prod(in_shape[: len(in_shape) - trailing]) * stats
    raise ValueError(f"unknown saved kind {kind}")


def _step(spec: Spec, analysis: Analysis, batch: int, size: int, device: str) -> _Step:
    """Storages, their sizes and what autograd keeps of them (see ``_Step``). A layer whose
    inputs need no gradient (the input batch, or what only such layers made) and which trains
    no parameters of its own is outside autograd's graph: it keeps nothing."""
    tensor = {"input": "input"}
    grad = {"input": False}
    sizes = {"input": batch * math.prod(spec.input_shape) * size}
    saved: dict[str, tuple[int, str, int]] = {}
    for layer, row in zip(spec.layers, analysis.layers):
        args = layer.resolved()
        kinds = REGISTRY[row.type].saves(args, row.input_shape)
        source = tensor[row.inputs[0]] if row.inputs else "input"
        in_grad = any(grad[name] for name in row.inputs)
        grad[row.name] = in_grad or bool(row.trainable and row.params)
        if not in_grad and "padded_input" in kinds:
            # the input a reflect or replicate pad keeps is for its own backward, which
            # autograd records only when that input needs a gradient
            kinds = tuple(kind for kind in kinds if kind != "input")
        if not grad[row.name]:
            kinds = tuple(kind for kind in kinds if kind == "view")
        if "view" in kinds:
            tensor[row.name] = source
        else:
            tensor[row.name] = row.name
            sizes[row.name] = batch * row.activations * size
        for j, kind in enumerate(k for k in kinds if k != "view"):
            if kind in ("input", "output"):
                key = source if kind == "input" else tensor[row.name]
                if key == "input":
                    continue  # the input batch is a part of its own
                nbytes = sizes[key]
            else:
                key = f"{row.name}/{j}"
                nbytes = _saved_bytes(kind, row, args, batch, size, device)
            if key not in saved:
                saved[key] = (nbytes, SAVED_GROUPS[kind], row.index)
    return _Step(tensor, sizes, saved, grad)


def _forward_peak(
    step: _Step, analysis: Analysis, rnd: Any
) -> tuple[int, int, dict[str, int], int]:
    """Walk the forward pass: a layer's output lives until its last reader has run (the last
    layer's until the loss), or on to the backward pass if saved. Returns the peak: (bytes with
    the input batch, layer index, saved bytes by part, bytes of outputs not saved)."""
    rows = analysis.layers
    if not rows:
        return rnd(step.size["input"]), -1, dict.fromkeys(SAVED_PARTS, 0), 0
    last = {step.tensor[rows[-1].name]: len(rows)}
    for row in rows:
        for name in row.inputs:
            key = step.tensor[name]
            last[key] = max(last.get(key, -1), row.index)
    alive = {"input": rnd(step.size["input"])}
    kept: dict[str, int] = {}
    firsts, held = step.first_kept(), alive["input"]
    by_part, loose = dict.fromkeys(SAVED_PARTS, 0), 0  # saved bytes held; unsaved outputs
    best: tuple[int, int, dict[str, int], int] = (-1, 0, {}, 0)
    for row in rows:
        key = step.tensor[row.name]
        if key not in alive:
            alive[key] = rnd(step.size[key])
            held += alive[key]
            if key in step.saved:
                by_part[step.saved[key][1]] += alive[key]
            else:
                loose += alive[key]
        for skey in firsts.get(row.index, ()):
            if skey not in alive and skey not in kept:
                kept[skey] = rnd(step.saved[skey][0])
                held += kept[skey]
                by_part[step.saved[skey][1]] += kept[skey]
        if held > best[0]:
            best = (held, row.index, dict(by_part), loose)
        for skey in [k for k in alive if k != "input" and last.get(k, -1) <= row.index]:
            nbytes = alive.pop(skey)
            if skey in step.saved:
                kept[skey] = nbytes
            else:
                held -= nbytes
                loose -= nbytes
    return best


def _backward(
    step: _Step, analysis: Analysis, batch: int, size: int, rnd: Any
) -> tuple[int, int, dict[str, int], int, int]:
    """Walk the backward pass from the end of the forward, in reverse layer order: each layer
    makes its parameters' gradients and its inputs' gradients (a view or a pass-through merge
    hands its output's gradient on), then frees its output's gradient and what only it saved.
    Returns the peak: (bytes, layer index, saved bytes by part, parameter-gradient bytes,
    activation-gradient bytes)."""
    rows = analysis.layers
    if not rows:
        return 0, -1, dict.fromkeys(SAVED_PARTS, 0), 0, 0
    saved = {key: rnd(nbytes) for key, (nbytes, _, _) in step.saved.items()}
    firsts, kept = step.first_kept(), sum(saved.values())
    by_part = dict.fromkeys(SAVED_PARTS, 0)
    for key, nbytes in saved.items():
        by_part[step.saved[key][1]] += nbytes
    last = rows[-1].name
    pending = {last: f"grad:{last}"}  # tensor -> the storage of its gradient
    grad_size = {f"grad:{last}": rnd(batch * rows[-1].activations * size)}
    grads = 0
    best: tuple[int, int, dict[str, int], int, int] = (-1, 0, {}, 0, 0)
    for row in reversed(rows):
        g_out = pending.pop(row.name, None)
        through = row.type in PASS_THROUGH or step.tensor[row.name] != row.name
        for name, shape in zip(row.inputs, row.input_shapes):
            if not step.grad[name] or name in pending:
                continue  # the input batch needs no gradient; a second one is summed in
            if through:
                if g_out is not None:
                    pending[name] = g_out
            else:
                pending[name] = gid = f"grad:{row.name}>{name}"
                grad_size[gid] = rnd(batch * math.prod(shape) * size)
        if row.trainable:
            grads += sum(rnd(math.prod(shape) * size) for _, shape in row.tensors)
        in_flight = sum(grad_size[g] for g in set(pending.values()) | ({g_out} - {None}))
        total = kept + in_flight + grads
        if total > best[0]:
            best = (total, row.index, dict(by_part), grads, in_flight)
        for key in firsts.get(row.index, ()):
            nbytes = saved.pop(key)
            kept -= nbytes
            by_part[step.saved[key][1]] -= nbytes
    return best


def _check(batch_size: Any, dtype: Any, optimizer: Any, device: Any) -> None:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= MAX_BATCH
    ):
        raise SpecError(
            f"batch_size must be an integer from 1 to {MAX_BATCH}, got {_show(batch_size)}"
        )
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise SpecError(f"dtype must be one of {', '.join(DTYPE_BYTES)}, got {_show(dtype)}")
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZER_MOMENTS:
        raise SpecError(
            f"optimizer must be one of {', '.join(OPTIMIZER_MOMENTS)}, got {_show(optimizer)}"
        )
    if device not in ("cuda", "cpu"):
        raise SpecError(f"device must be cuda or cpu, got {_show(device)}")


def _static(analysis: Analysis, size: int, optimizer: str, rnd: Any) -> dict[str, int]:
    """What the step holds throughout (and the optimizer step's intermediates), each tensor
    passed through ``rnd`` (``int``: exact; ``_round``: as the allocator rounds it)."""
    params = [math.prod(s) * size for row in analysis.layers for _, s in row.tensors]
    trained = [
        math.prod(s) * size for row in analysis.layers if row.trainable for _, s in row.tensors
    ]
    buffers = [
        math.prod(shape) * (INDEX_BYTES if name == "num_batches_tracked" else size)
        for row in analysis.layers
        for name, shape in row.buffer_tensors
    ]
    grads = sum(rnd(n) for n in trained)
    return {
        "parameters": sum(rnd(n) for n in params),
        "buffers": sum(rnd(n) for n in buffers),
        "optimizer_state": OPTIMIZER_MOMENTS[optimizer] * grads,  # Adam's steps stay on the CPU
        "gradients": grads,
        "step": STEP_TEMPORARIES[optimizer] * grads,
    }


def _peak(
    step: _Step, analysis: Analysis, batch: int, size: int, static: dict[str, int], rnd: Any
) -> tuple[int, str, dict[str, int]]:
    """The step's peak: (bytes, when, what is alive then by part), with the workspaces."""
    fwd, f_at, f_parts, f_loose = _forward_peak(step, analysis, rnd)
    bwd, b_at, b_parts, b_grads, b_flight = _backward(step, analysis, batch, size, rnd)
    held = {part: static[part] for part in ("parameters", "buffers", "optimizer_state")}
    held["input"] = rnd(step.size["input"])
    names = {row.index: f": {row.name}" for row in analysis.layers}
    phases = [
        (fwd - held["input"], f"forward{names.get(f_at, '')}", {**f_parts, "temporaries": f_loose}),
        (
            bwd,
            f"backward{names.get(b_at, '')}",
            {**b_parts, "gradients": b_grads, "temporaries": b_flight},
        ),
        (
            static["gradients"] + static["step"],
            "optimizer step",
            {"gradients": static["gradients"], "temporaries": static["step"]},
        ),
    ]
    top, when, parts = max(phases, key=lambda phase: phase[0])
    alive = {part: parts.get(part, 0) for part in PARTS[:-2]}
    alive.update(held)
    alive["temporaries"] += WORKSPACE_BYTES
    return top + sum(held.values()) + WORKSPACE_BYTES, when, alive


def memory_estimate(
    spec: object,
    batch_size: int,
    dtype: str = "float32",
    optimizer: str = "adam",
    device: str = "cuda",
) -> MemoryEstimate:
    """Estimate the memory of one training step of the design.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.
        batch_size: samples per step.
        dtype: ``"float32"``, ``"float16"`` or ``"bfloat16"``: every tensor in it.
        optimizer: ``"adam"``, ``"sgd"`` or ``"sgd_momentum"``.
        device: ``"cuda"`` (the default: what a GPU keeps) or ``"cpu"`` (Dropout keeps its mask
            and BatchNorm its statistics in ``dtype`` there: the saved bytes on CPU).

    Returns:
        The ``MemoryEstimate``.

    Raises:
        SpecError: if the analysis fails or an argument is not one of the choices.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    _check(batch_size, dtype, optimizer, device)
    analysis = analyze(spec)
    if not analysis.ok:
        raise SpecError(analysis.error)
    size = DTYPE_BYTES[dtype]
    rows = [row for row in analysis.layers if row.trainable]
    trainable = sum(row.params or 0 for row in rows)
    trainable_tensors = sum(len(row.tensors) for row in rows)
    step = _step(spec, analysis, batch_size, size, device)
    static = _static(analysis, size, optimizer, int)
    _, when, alive = _peak(step, analysis, batch_size, size, static, int)
    rounded = _static(analysis, size, optimizer, _round)
    peak, _, _ = _peak(step, analysis, batch_size, size, rounded, _round)
    elements = batch_size * sum(row.activations for row in analysis.layers)
    return MemoryEstimate(
        batch_size=batch_size,
        dtype=dtype,
        optimizer=optimizer,
        bytes_per_value=size,
        parameters=static["parameters"],
        gradients=static["gradients"],
        optimizer_state=static["optimizer_state"] + STEP_BYTES[optimizer] * trainable_tensors,
        activations=elements * size,
        input=step.size["input"],
        buffers=static["buffers"],
        param_count=analysis.total_params,
        trainable_count=trainable,
        activation_elements=elements,
        layers=_layers(step, analysis, batch_size, size),
        saved=sum(nbytes for nbytes, _, _ in step.saved.values()),
        saved_parts=_by_part(step),
        peak=peak,
        peak_at=when,
        at_peak=alive,
        reserved=_reserved(peak, alive),
    )


def _reserved(peak: int, alive: dict[str, int]) -> int:
    """The allocated peak, the cache its activation memory leaves (``ACTIVATION_CACHE``), in
    whole segments."""
    moving = sum(alive[part] for part in (*SAVED_PARTS, "input", "temporaries")) - WORKSPACE_BYTES
    cached = peak + math.ceil(ACTIVATION_CACHE * moving)
    return -(-cached // SEGMENT) * SEGMENT


def _by_part(step: _Step) -> dict[str, int]:
    parts = dict.fromkeys(SAVED_PARTS, 0)
    for nbytes, part, _ in step.saved.values():
        parts[part] += nbytes
    return parts


def _layers(step: _Step, analysis: Analysis, batch: int, size: int) -> tuple[LayerMemory, ...]:
    """Each layer's parameters, output, and the saved bytes it is the first to keep."""
    kept = dict.fromkeys(range(len(analysis.layers)), 0)
    for nbytes, _, first in step.saved.values():
        kept[first] += nbytes
    return tuple(
        LayerMemory(
            row.name,
            row.type,
            (row.params or 0) * size,
            batch * row.activations * size,
            kept[row.index],
        )
        for row in analysis.layers
    )


def format_bytes(n: float) -> str:
    """``1.5 GB``, ``248 kB``, ``12 B``: decimal units, 3 significant digits."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"


_LABELS = {
    "parameters": N_("parameters"),
    "buffers": N_("buffers"),
    "optimizer_state": N_("optimizer state"),
    "gradients": N_("gradients"),
    "input": N_("input batch"),
    "saved_activations": N_("saved activations"),
    "pooling_indices": N_("pooling indices"),
    "dropout_masks": N_("dropout masks"),
    "norm_statistics": N_("norm statistics"),
    "temporaries": N_("temporaries"),
    "allocator": N_("allocator cache"),
    "cuda_context": N_("CUDA context"),
}
"""How each part (``PARTS``) is said in the figure and the Sizes tab."""
_COLORS = (
    "#4C78A8",
    "#9D755D",
    "#F58518",
    "#72B7B2",
    "#54A24B",
    "#E45756",
    "#FF9DA6",
    "#EECA3B",
    "#B279A2",
    "#79706E",
    "#BAB0AC",
    "#D3D3D3",
)


def memory_figure(
    estimate: MemoryEstimate,
    gpus: Sequence[float] = GPU_SIZES_GB,
    height: int = 330,
    translate: Translator | None = None,
) -> go.Figure:
    """One stacked bar of the parts (``PARTS``: what is alive at the peak, the allocator's cache,
    the CUDA context), with a line at each GPU size (in GB, decimal on the axis).

    Args:
        estimate: from ``memory_estimate``.
        gpus: GPU sizes to mark (GB as sold: GiB).
        height: pixels.
        translate: message id -> the reader's template (``builder.messages.localize``);
            English by default.

    Returns:
        The figure; its title gives the total and which GPUs it fits on.
    """
    fig = go.Figure(layout={"template": TEMPLATE, "height": height})
    for (part, value), color in zip(estimate.parts().items(), _COLORS):
        label = localize(translate, _LABELS[part])
        fig.add_trace(
            go.Bar(
                y=["memory"],
                x=[round(value / 1e9, 6)],
                orientation="h",
                name=label,
                marker={"color": color},
                hovertemplate=f"{label}: {format_bytes(value)}<extra></extra>",
            )
        )
    top = estimate.total / 1e9
    for gb in gpus:
        usable = gb * GIB / 1e9
        if usable <= max(top, 1) * 3:
            fig.add_vline(
                x=usable,
                line={"dash": "dot", "color": "#555", "width": 2},
                annotation_text=f"{gb:g} GB GPU",
                annotation_font_size=SMALL_FONT_SIZE,
            )
    verdict = ", ".join(f"{gb:g} GB {'✓' if estimate.fits_on(gb) else '✗'}" for gb in gpus)
    fig.update_layout(
        barmode="stack",
        title={
            "text": localize(
                translate,
                N_("Training memory: {total} · {verdict}"),
                total=format_bytes(estimate.total),
                verdict=verdict,
            ),
            "subtitle": {
                "text": localize(
                    translate,
                    N_(
                        "batch {batch}, {dtype}, {optimizer} · peak {peak} allocated ({peak_at}), "
                        "{reserved} reserved; {saved} saved for the backward pass"
                    ),
                    batch=estimate.batch_size,
                    dtype=estimate.dtype,
                    optimizer=estimate.optimizer,
                    peak=format_bytes(estimate.peak),
                    peak_at=estimate.peak_at,
                    reserved=format_bytes(estimate.reserved),
                    saved=format_bytes(estimate.saved),
                ),
                "font": {"size": SMALL_FONT_SIZE + 2},
            },
        },
        xaxis={"title": "GB", "rangemode": "tozero"},
        yaxis={"showticklabels": False},
        legend={"orientation": "h", "y": -0.45, "yanchor": "top", "x": 0.5, "xanchor": "center"},
        margin={"t": 100, "b": 120, "l": 30, "r": 30},
        font={"size": FONT_SIZE},
    )
    return fig
