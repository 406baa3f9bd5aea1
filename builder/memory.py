"""How much memory training a design takes, from the analysis alone (no weights are allocated).

The model, for one training step with every tensor in one ``dtype`` (pure low-precision training;
mixed precision would add a float32 master copy of the weights, which is not counted):

- **parameters**: every parameter, ``numel × bytes per value``.
- **gradients**: one per trainable parameter (frozen layers have none).
- **optimizer state**, per trainable parameter tensor, as torch keeps it: Adam two moments
  (``exp_avg``, ``exp_avg_sq``, same dtype and shape) plus a ``step`` counter (a float32 scalar);
  SGD with momentum one ``momentum_buffer``; plain SGD nothing.
- **activations**: every layer's output for the whole batch, kept for the backward pass
  (``batch × Σ output elements``). This is the usual upper-bound reading: in reality views
  (Flatten) and in-place activations share memory, some layers keep less (ReLU keeps its output,
  pooling its indices), and the backward pass briefly holds gradients of one or two outputs.
  On a graph (SPEC.md "Graphs") the same sum is what is alive: a skip held for a later merge,
  and every branch of an Inception block, are layer outputs already in it, and a merge's own
  output (an ``Add``'s sum, a ``Concat``'s copy) is one more; nothing is counted twice, since a
  merge's inputs are other layers' outputs. Autograd saves no more than these for ``Add`` and
  ``Concat`` (they save nothing), so the bound holds for graphs as for stacks.
- **input**: the input batch.
- **buffers**: BatchNorm's running mean and variance (in ``dtype``) and ``num_batches_tracked``
  (an int64, 8 bytes).

Not counted: the CUDA context and library workspaces (``fits`` keeps ``CUDA_RESERVE_BYTES``
free for them), the allocator's fragmentation, and the data loader.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from .analysis import analyze
from .errors import SpecError
from .figures import FONT_SIZE, SMALL_FONT_SIZE, TEMPLATE
from .spec import Spec, _show, load_spec

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
OPTIMIZER_MOMENTS = {"adam": 2, "sgd": 0, "sgd_momentum": 1}
"""Tensors the optimizer keeps per trainable parameter tensor, each the parameter's size."""
STEP_BYTES = {"adam": 4, "sgd": 0, "sgd_momentum": 0}
"""Adam's per-tensor ``step`` counter: a float32 scalar."""
INDEX_BYTES = 8  # num_batches_tracked is an int64
GPU_SIZES_GB = (8, 16, 24)
GIB = 2**30
CUDA_RESERVE_BYTES = GIB // 2
"""Kept free when asking whether a design fits: the CUDA context and cuDNN / cuBLAS workspaces
take a few hundred MB on every GPU."""
MAX_BATCH = 2**20

PARTS = ("parameters", "gradients", "optimizer_state", "activations", "input", "buffers")


@dataclass(frozen=True)
class LayerMemory:
    """One layer's share: its parameters' bytes and its output's bytes for the whole batch."""

    name: str
    type: str
    parameters: int
    activations: int


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes of one training step (see the module docstring for what each part counts).

    Attributes:
        batch_size, dtype, optimizer: what was asked.
        bytes_per_value: 4 for float32, 2 for float16 / bfloat16.
        parameters, gradients, optimizer_state, activations, input, buffers: bytes.
        total: their sum.
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

    @property
    def total(self) -> int:
        return sum(getattr(self, part) for part in PARTS)

    def parts(self) -> dict[str, int]:
        """``{part: bytes}`` in ``PARTS`` order."""
        return {part: getattr(self, part) for part in PARTS}

    def fits_on(self, gb: float) -> bool:
        """Whether the step fits on a GPU with ``gb`` GB (see ``fits``)."""
        return fits(self.total, gb)


def fits(total_bytes: int, gb: float) -> bool:
    """Whether ``total_bytes`` fit on a GPU sold as ``gb`` GB, keeping ``CUDA_RESERVE_BYTES`` free.

    A "24 GB" card has 24 GiB (24 · 2³⁰ bytes), of which the CUDA context takes a part.
    """
    return total_bytes + CUDA_RESERVE_BYTES <= gb * GIB


def memory_estimate(
    spec: object, batch_size: int, dtype: str = "float32", optimizer: str = "adam"
) -> MemoryEstimate:
    """Estimate the memory of one training step of the design.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.
        batch_size: samples per step.
        dtype: ``"float32"``, ``"float16"`` or ``"bfloat16"``: every tensor in it.
        optimizer: ``"adam"``, ``"sgd"`` or ``"sgd_momentum"``.

    Returns:
        The ``MemoryEstimate``.

    Raises:
        SpecError: if the analysis fails or an argument is not one of the choices.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
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
    analysis = analyze(spec)
    if not analysis.ok:
        raise SpecError(analysis.error)
    size = DTYPE_BYTES[dtype]
    trainable = sum(row.params or 0 for row in analysis.layers if row.trainable)
    trainable_tensors = sum(len(row.tensors) for row in analysis.layers if row.trainable)
    buffers = 0
    for row in analysis.layers:
        for name, shape in row.buffer_tensors:
            buffers += math.prod(shape) * (INDEX_BYTES if name == "num_batches_tracked" else size)
    activation_elements = batch_size * sum(row.activations for row in analysis.layers)
    layers = tuple(
        LayerMemory(
            row.name, row.type, (row.params or 0) * size, batch_size * row.activations * size
        )
        for row in analysis.layers
    )
    return MemoryEstimate(
        batch_size=batch_size,
        dtype=dtype,
        optimizer=optimizer,
        bytes_per_value=size,
        parameters=analysis.total_params * size,
        gradients=trainable * size,
        optimizer_state=OPTIMIZER_MOMENTS[optimizer] * trainable * size
        + STEP_BYTES[optimizer] * trainable_tensors,
        activations=activation_elements * size,
        input=batch_size * math.prod(spec.input_shape) * size,
        buffers=buffers,
        param_count=analysis.total_params,
        trainable_count=trainable,
        activation_elements=activation_elements,
        layers=layers,
    )


def format_bytes(n: float) -> str:
    """``1.5 GB``, ``248 kB``, ``12 B``: decimal units, 3 significant digits."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"


_LABELS = {
    "parameters": "parameters",
    "gradients": "gradients",
    "optimizer_state": "optimizer state",
    "activations": "activations",
    "input": "input batch",
    "buffers": "buffers",
}
_COLORS = ("#4C78A8", "#72B7B2", "#F58518", "#E45756", "#54A24B", "#B279A2")


def memory_figure(
    estimate: MemoryEstimate, gpus: Sequence[float] = GPU_SIZES_GB, height: int = 330
) -> go.Figure:
    """One stacked bar of the parts, with a line at each GPU size (in GB, decimal on the axis).

    Args:
        estimate: from ``memory_estimate``.
        gpus: GPU sizes to mark (GB as sold: GiB).
        height: pixels.

    Returns:
        The figure; its title gives the total and which GPUs it fits on.
    """
    fig = go.Figure(layout={"template": TEMPLATE, "height": height})
    for (part, value), color in zip(estimate.parts().items(), _COLORS):
        fig.add_trace(
            go.Bar(
                y=["memory"],
                x=[round(value / 1e9, 6)],
                orientation="h",
                name=_LABELS[part],
                marker={"color": color},
                hovertemplate=f"{_LABELS[part]}: {format_bytes(value)}<extra></extra>",
            )
        )
    top = estimate.total / 1e9
    for gb in gpus:
        usable = (gb * GIB - CUDA_RESERVE_BYTES) / 1e9
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
            "text": f"Training memory: {format_bytes(estimate.total)} · {verdict}",
            "subtitle": {
                "text": f"batch {estimate.batch_size}, {estimate.dtype}, {estimate.optimizer}",
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
