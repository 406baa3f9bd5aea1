"""Model -> binned weights: one histogram per parameter tensor, and what its initializer promised.

Everything is computed inside torch and only summaries leave it: ``bins`` counts, ``bins + 1``
edges and a handful of statistics per tensor. The raw values are never copied out, and a large
tensor is never copied at all (nor cast to float64): it is read whole once, then in chunks.

- Pass 1 (whole tensor): ``torch.aminmax`` and ``sum`` (torch's cascade sum): range and mean.
- Pass 2 (per chunk of ``CHUNK`` values): the deviations from the mean, whose sum and sum of
  squares give the exact two-pass variance (no cancellation, even far from zero), and from them
  the bin positions ``(x − min) · bins / (max − min)``, truncated to int32 and counted by
  ``torch.bincount`` on a helper thread while the next chunk is prepared.

Why this shape (numbers from ``bench/bench_histograms.py``, VGG16, 2 cores): ``torch.histc``
spends a division and bounds checks per value and ``torch.std_mean`` a Welford update, so
together they cost 2-4x what drawing the weights did. Here every pass is a cheap vectorized op on
a chunk that stays in cache, and the one serial step (bincount) overlaps with the rest. The ops
run with one intra-op thread plus the helper thread: with torch's own two OpenMP threads, every
small op ends in a barrier, and when other processes share the cores those barriers stall for a
scheduler tick each (measured 2x slower under load, no faster when idle). The calling thread's
intra-op thread count is therefore 1 for the duration of the call (``builder.rng.intra_op_threads``:
the count is per thread, and other threads keep theirs). The temporaries are four chunk-sized
buffers (4 MB).

Bins follow ``torch.histc``: ``bins`` equal bins spanning ``[min, max]``; bin ``k`` holds
``edges[k] <= x < edges[k + 1]`` and the last bin also holds ``max``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .initializers import default_kind, fans, resolved_args
from .initializers import expected_std as _scheme_expected_std
from .rng import intra_op_threads

CHUNK = 1 << 18
"""Values per chunk: 1 MB of float32, so a chunk and its temporaries stay in the L2 cache."""

SERIAL_OPS = True
"""Run the ops with one intra-op thread (module docstring); False keeps torch's setting."""

PIPELINE = True
"""Count each chunk on the helper thread while the next is prepared."""

CONSTANT_HALF_WIDTH = 1e-3
"""A constant tensor's edges span ``value ± CONSTANT_HALF_WIDTH · max(1, |value|)``."""

_FLOAT32_SAFE = 1e30  # above this, float32 arithmetic on ranges and scales could overflow


@dataclass(frozen=True)
class Promise:
    """The distribution an initializer draws from, for the overlay curve.

    Attributes:
        kind: ``"normal"``, ``"uniform"`` or ``"trunc_normal"``.
        mean: the centre (the normal's mean; the uniform's midpoint).
        std: the underlying normal's sigma (for ``trunc_normal`` before truncation); for
            ``uniform`` the uniform's own standard deviation.
        low: lower bound of the support (``-inf`` for a normal).
        high: upper bound of the support (``inf`` for a normal).
        mass: the fraction of the tensor the density describes (``sparse`` zeroes the rest).
        approximate: True where the shape is a large-size approximation (``orthogonal``).
    """

    kind: str
    mean: float
    std: float
    low: float = -math.inf
    high: float = math.inf
    mass: float = 1.0
    approximate: bool = False

    def pdf(self, x: float) -> float:
        """The promised probability density at ``x`` (times ``mass``)."""
        if not self.low <= x <= self.high:
            return 0.0
        if self.kind == "uniform":
            return self.mass / (self.high - self.low)
        z = (x - self.mean) / self.std
        density = math.exp(-0.5 * z * z) / (self.std * math.sqrt(2 * math.pi))
        if self.kind == "trunc_normal":
            density /= _normal_cdf((self.high - self.mean) / self.std) - _normal_cdf(
                (self.low - self.mean) / self.std
            )
        return self.mass * density


@dataclass(frozen=True)
class Histogram:
    """One parameter tensor, binned, with what its initializer promised.

    Attributes:
        name: the parameter's name in ``model.named_parameters()`` (``"conv1.weight"``).
        layer: the owning module's path (``"conv1"``; ``""`` for a parameter of the model itself).
        tensor: the parameter's own name (``"weight"``, ``"bias"``).
        layer_type: the owning module's class name (``"Conv2d"``).
        shape: the tensor's shape.
        numel: its number of elements.
        counts: ``bins`` ints; they sum to ``numel`` (to ``numel - nonfinite`` if the tensor holds
            NaN or infinity, which are left out of every statistic; an empty tensor has all-zero
            counts and 0.0 for every statistic).
        edges: ``bins + 1`` floats from ``min`` to ``max`` (a constant tensor gets
            ``value ± CONSTANT_HALF_WIDTH · max(1, |value|)``).
        mean: the mean.
        std: ``torch.std`` (Bessel-corrected). A one-element tensor, where ``torch.std`` is NaN
            (no spread can be estimated from one value), reports 0.0: the spread of what is there,
            and a value JSON can carry.
        min: the smallest value.
        max: the largest value.
        scheme: the INIT dict that initialized it (``model.init_plan``), or None for a plain
            ``nn.Module``.
        expected_std: the std the scheme promises (``builder.initializers.expected_std``), or None.
        promise: the promised distribution for the overlay curve, or None (constants, ``eye``,
            ``dirac``, unknown schemes).
        nonfinite: how many NaN / infinite values were left out (0 for any initialized tensor).
    """

    name: str
    layer: str
    tensor: str
    layer_type: str
    shape: tuple[int, ...]
    numel: int
    counts: list[int]
    edges: list[float]
    mean: float
    std: float
    min: float
    max: float
    scheme: dict[str, Any] | None = None
    expected_std: float | None = None
    promise: Promise | None = None
    nonfinite: int = 0

    @property
    def is_constant(self) -> bool:
        """True when every (finite) value is the same."""
        return self.min == self.max

    @property
    def bin_width(self) -> float:
        """The width of one bin."""
        return (self.edges[-1] - self.edges[0]) / len(self.counts)


def weight_histograms(model: nn.Module, bins: int = 60) -> list[Histogram]:
    """Bin every parameter tensor of ``model`` and attach its initializer's promise.

    Args:
        model: any ``nn.Module``. A ``BuiltNet`` (``builder.build_model``) also carries its
            ``init_plan``, which gives each histogram its ``scheme``, ``expected_std`` and
            ``promise``; for other modules those are None.
        bins: the number of equal-width bins (>= 1).

    Returns:
        One ``Histogram`` per parameter tensor, in ``model.named_parameters()`` order.

    While it runs, ``torch.get_num_threads()`` is 1 (one thread computes, a helper thread counts;
    see the module docstring); it is restored on return.

    Raises:
        ValueError: if ``bins`` is not a positive integer.
        TypeError: for a complex-valued parameter.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    plan: Mapping[str, Any] = getattr(model, "init_plan", None) or {}
    out = []
    with (
        torch.no_grad(),
        intra_op_threads(1 if SERIAL_OPS else None),
        ThreadPoolExecutor(1, thread_name_prefix="histograms") as pool,
    ):
        workspace = _Workspace(pool if PIPELINE else None)
        for name, param in model.named_parameters():
            layer, _, tensor = name.rpartition(".")
            owner = model.get_submodule(layer) if layer else model
            stats = _bin_tensor(param.detach(), bins, workspace)
            scheme = plan.get(name)
            expected = promise = None
            if scheme is not None:
                weight = getattr(owner, "weight", None)
                weight_shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else None
                layer_type = type(owner).__name__
                expected = _expected(scheme, tuple(param.shape), layer_type, weight_shape)
                promise = promised_distribution(
                    scheme, tuple(param.shape), layer_type, weight_shape
                )
            out.append(
                Histogram(
                    name=name,
                    layer=layer,
                    tensor=tensor,
                    layer_type=type(owner).__name__,
                    shape=tuple(param.shape),
                    numel=param.numel(),
                    scheme=dict(scheme) if scheme is not None else None,
                    expected_std=expected,
                    promise=promise,
                    **stats,
                )
            )
    return out


def promised_distribution(
    init: Mapping[str, Any],
    shape: tuple[int, ...],
    layer_type: str,
    weight_shape: tuple[int, ...] | None = None,
) -> Promise | None:
    """The distribution ``init`` draws a tensor of ``shape`` from, or None where it has no density.

    Args:
        init: a validated INIT dict (``{"scheme": "kaiming_normal", "nonlinearity": "relu"}``).
        shape: the tensor's shape.
        layer_type: the owning layer's class name (``default`` depends on it).
        weight_shape: the layer's weight shape (a bias's ``default`` bound uses its fan-in).

    Returns:
        A ``Promise``; None for constants (``zeros``, ``ones``, ``constant``, BatchNorm's
        ``default``), the 0/1 patterns ``eye`` and ``dirac``, and unknown schemes.
    """
    name = init.get("scheme")
    try:
        args = resolved_args(init)
    except KeyError:
        return None
    if name == "default":
        if default_kind(layer_type) == "constant":
            return None  # normalization ones / zeros, PReLU's 0.25
        fan_in = fans(weight_shape if weight_shape is not None else shape)[0]
        if fan_in <= 0:
            return None
        bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=√5) and the bias rule agree
        return Promise("uniform", 0.0, bound / math.sqrt(3), -bound, bound)
    if name == "normal":
        std = float(args["std"])
        return Promise("normal", float(args["mean"]), std) if std > 0 else None
    if name == "uniform":
        low, high = float(args["a"]), float(args["b"])
        return Promise("uniform", (low + high) / 2, (high - low) / math.sqrt(12), low, high)
    if name == "trunc_normal":
        mean, std = float(args["mean"]), float(args["std"])
        return Promise("trunc_normal", mean, std, float(args["a"]), float(args["b"]))
    std = _expected(init, shape, layer_type, weight_shape)
    if std is None or std <= 0:
        return None
    if name in ("xavier_normal", "kaiming_normal"):
        return Promise("normal", 0.0, std)
    if name in ("xavier_uniform", "kaiming_uniform"):
        bound = math.sqrt(3) * std
        return Promise("uniform", 0.0, std, -bound, bound)
    if name == "orthogonal":
        # entries of a large random orthogonal matrix are close to N(0, gain² / max(rows, cols))
        return Promise("normal", 0.0, std, approximate=True)
    if name == "sparse" and len(shape) == 2:
        rows = shape[0]
        nonzero = 1 - math.ceil(float(args["sparsity"]) * rows) / rows  # what sparse_ zeroes
        return Promise("normal", 0.0, float(args["std"]), mass=nonzero)
    return None


def promised_curve(
    hist: Histogram, points: int = 200, steps: bool = True
) -> tuple[list[float], list[float]]:
    """The promised density scaled to the histogram's counts, ready to draw over its bars.

    The expected count of a bin of width ``w`` is ``numel · w · pdf(x)``; the curve is that, sampled
    at ``points`` x positions across the histogram's edges (and the promise's support, so a
    uniform's flat top shows where it ends).

    Args:
        hist: a ``Histogram``.
        points: how many evenly spaced x positions (>= 2).
        steps: also put points at (and just outside) a uniform's or truncated normal's ends, so
            a line through them rises vertically there; False keeps the xs evenly spaced.

    Returns:
        ``(xs, ys)``; both empty where the scheme promises no density (see ``Histogram.promise``).
    """
    promise = hist.promise
    if promise is None or points < 2:
        return [], []
    lo, hi = hist.edges[0], hist.edges[-1]
    if promise.kind == "uniform" or promise.kind == "trunc_normal":
        lo, hi = min(lo, promise.low), max(hi, promise.high)
    else:
        lo = min(lo, promise.mean - 4 * promise.std)
        hi = max(hi, promise.mean + 4 * promise.std)
    step = (hi - lo) / (points - 1)
    xs = [lo + i * step for i in range(points)]
    if steps and promise.kind != "normal":
        # put the support's ends on the grid so the steps are vertical, not slanted
        xs = sorted({*xs, promise.low, promise.high, *_just_outside(promise)})
        xs = [x for x in xs if lo <= x <= hi]
    scale = (hist.numel - hist.nonfinite) * hist.bin_width
    return xs, [scale * promise.pdf(x) for x in xs]


def _just_outside(promise: Promise) -> tuple[float, float]:
    return math.nextafter(promise.low, -math.inf), math.nextafter(promise.high, math.inf)


def _expected(
    init: Mapping[str, Any],
    shape: tuple[int, ...],
    layer_type: str,
    weight_shape: tuple[int, ...] | None,
) -> float | None:
    try:
        value = _scheme_expected_std(init, shape, layer_type, weight_shape)
    except (KeyError, ValueError, ZeroDivisionError):
        return None
    return None if value is None else float(value)


def _normal_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


class _Workspace:
    """Chunk-sized scratch buffers, grown on demand and reused for every tensor, and the helper
    thread that counts one chunk while the next is prepared."""

    def __init__(self, pool: ThreadPoolExecutor | None = None) -> None:
        self.pool = pool
        self._buffers: dict[tuple[torch.dtype, torch.device, int], torch.Tensor] = {}

    def get(self, n: int, dtype: torch.dtype, device: torch.device, slot: int = 0) -> torch.Tensor:
        key = (dtype, device, slot)
        buf = self._buffers.get(key)
        if buf is None or buf.numel() < n:
            buf = torch.empty(max(n, min(CHUNK, 1 << 12)), dtype=dtype, device=device)
            self._buffers[key] = buf
        return buf[:n]


def _chunks(flat: torch.Tensor, work: torch.dtype, finite_only: bool) -> Iterator[torch.Tensor]:
    """Yield ``flat`` in chunks of ``CHUNK`` elements, in dtype ``work`` (views where possible)."""
    for start in range(0, flat.numel(), CHUNK):
        chunk = flat[start : start + CHUNK]
        if chunk.dtype != work:
            chunk = chunk.to(work)
        if finite_only:
            chunk = chunk[torch.isfinite(chunk)]
        yield chunk


def _range_and_sum(
    flat: torch.Tensor, work: torch.dtype, finite_only: bool
) -> tuple[int, float, float, float]:
    """``(count, sum, min, max)``: whole-tensor reductions where possible (no temporaries, torch's
    cascade sum), else chunk by chunk."""
    if not flat.numel():
        return 0, 0.0, 0.0, 0.0
    if flat.dtype == work and not finite_only:
        lo, hi = torch.aminmax(flat)
        return flat.numel(), flat.sum().item(), lo.item(), hi.item()
    n, total, lo, hi = 0, 0.0, math.inf, -math.inf
    for chunk in _chunks(flat, work, finite_only):
        if chunk.numel():
            c_lo, c_hi = torch.aminmax(chunk)
            lo, hi = min(lo, c_lo.item()), max(hi, c_hi.item())
            total += chunk.sum().item()
            n += chunk.numel()
    return n, total, lo, hi


def _bin_tensor(values: torch.Tensor, bins: int, ws: _Workspace) -> dict[str, Any]:
    """Counts, edges and statistics of one tensor: the two chunked passes described above."""
    if values.is_complex():
        raise TypeError("weight_histograms: complex parameters are not supported")
    flat = values.reshape(-1)  # a view of a contiguous parameter: no copy
    numel = flat.numel()
    work = torch.float64 if flat.dtype == torch.float64 else torch.float32

    # pass 1: range and mean
    n, total, lo, hi = _range_and_sum(flat, work, finite_only=False)
    finite_only = numel > 0 and not (math.isfinite(lo) and math.isfinite(hi))
    if finite_only:  # NaN / inf present: leave them out of everything
        n, total, lo, hi = _range_and_sum(flat, work, finite_only=True)
    nonfinite = numel - n

    if n == 0 or lo == hi:
        value = lo if n else 0.0
        half = CONSTANT_HALF_WIDTH * max(1.0, abs(value))
        counts = [0] * bins
        counts[bins // 2] = n  # value is the centre: bin bins//2 holds it (histc convention)
        return {
            "counts": counts,
            "edges": _edges(value - half, value + half, bins),
            "mean": float(value),
            "std": 0.0,
            "min": float(value),
            "max": float(value),
            "nonfinite": nonfinite,
        }

    mean = total / n
    span = hi - lo
    if work == torch.float32 and (span > _FLOAT32_SAFE or bins / span > _FLOAT32_SAFE):
        work = torch.float64  # float32 would overflow computing positions
    scale = bins / span

    # pass 2: squared deviations and counts; each chunk's bincount runs on the helper thread
    # while this thread prepares the next chunk. Positions are taken from the deviations:
    # (x − min)·scale = (x − mean)·scale + (mean − min)·scale, one fused op, accurate because
    # mean lies inside [min, max].
    centre = torch.tensor(mean, dtype=work).item()  # the mean as the chunks' dtype holds it
    shift = torch.tensor((centre - lo) * scale, dtype=work, device=flat.device)
    squares, deviation = 0.0, 0.0
    counts = torch.zeros(bins + 1, dtype=torch.int64, device=flat.device)
    pending: Future[torch.Tensor] | None = None
    for k, chunk in enumerate(_chunks(flat, work, finite_only)):
        m = chunk.numel()
        if not m:
            continue
        dev = ws.get(m, chunk.dtype, chunk.device)
        pos = ws.get(m, chunk.dtype, chunk.device, slot=1)
        index = ws.get(m, torch.int32, chunk.device, slot=k % 2)
        torch.sub(chunk, centre, out=dev)
        torch.add(shift, dev, alpha=scale, out=pos)  # >= -rounding, so truncation is floor
        index.copy_(pos)
        if pending is not None:
            _add_found(counts, pending.result(), bins)
        if ws.pool is None or m == numel:
            _add_found(counts, torch.bincount(index, minlength=bins + 1), bins)
            pending = None
        else:
            pending = ws.pool.submit(torch.bincount, index, None, bins + 1)
        deviation += dev.sum().item()
        squares += dev.square_().sum().item()  # torch's cascade sum: accurate in float32
    if pending is not None:
        _add_found(counts, pending.result(), bins)
    variance = (squares - deviation * deviation / n) / (n - 1)
    return {
        "counts": counts[:bins].tolist(),
        "edges": _edges(lo, hi, bins),
        "mean": centre + deviation / n,  # corrects the rounding of pass 1's float32 sum
        "std": math.sqrt(max(variance, 0.0)),
        "min": lo,
        "max": hi,
        "nonfinite": nonfinite,
    }


def _add_found(counts: torch.Tensor, found: torch.Tensor, bins: int) -> None:
    counts[:bins] += found[:bins]
    counts[bins - 1] += found[bins:].sum()  # max itself (and rounding just above it)


def _edges(lo: float, hi: float, bins: int) -> list[float]:
    return [lo + (hi - lo) * k / bins for k in range(bins)] + [hi]
