"""Train a design briefly on the digits or uploaded data: bounded, cancellable, seeded.

By default the data are the 1,797 8×8 digits scikit-learn ships (no download), scaled to
[0, 1]; ``data=`` takes an uploaded ``builder.datasets.Dataset`` instead. The samples are
standardized with the training split's mean and std and resized to the design's input one
batch at a time (``builder.datasets.Split``): ``[C, H, W]`` gets each image at ``H×W`` in every
channel; a flat ``[F]`` input gets it at ``s×s`` with ``s = floor(sqrt(F))``, flattened row by
row and zero-padded to ``F`` (``[64]`` is the original 8×8, ``[784]`` a 28×28 MNIST-like
image); a sequence ``[C, L]`` reads the pixels row by row, resized to length ``L``.

The run goes on CUDA when there is an NVIDIA GPU, else on Apple's MPS, else on the CPU
(``builder.devices.pick_device``; ``settings["device"]`` says which). The trained model comes
back (on the CPU) with the split, for ``builder.learned`` to show what it learned.

Bounds: designs above ``MAX_HEAVY_PARAMS`` parameters or ``MAX_TRAIN_MACS`` multiply-adds per
sample (``builder.signal.heavy_macs``), or whose batch exceeds ``MAX_SIGNAL_ELEMENTS`` (input
plus every layer's output) or ``MAX_PASS_MACS`` (3 passes: forward and backward), are refused
with ``SpecError`` (``training_batch_limit`` gives the largest batch that fits). So no batch takes
long, and a run stops within a batch of its time limit (at most ``MAX_TRAIN_SECONDS``, counted
from the call, building included) or of a callback's cancel. At most
``MAX_CONCURRENT_RUNS`` runs go on at once in one process (``TrainingBusy`` beyond that), each
on one intra-op thread, so a shared 2-core server keeps a core for everyone else. (With two
intra-op threads on a busy 2-core machine, torch's OpenMP threads wait for each other and a
LeNet epoch took 7-14 s instead of 0.3 s; one thread is as fast as two on an idle machine.)

Determinism: the split, the shuffling (a ``torch.Generator``), the weights (``build_model``) and
Dropout (the global generator, seeded inside ``torch.random.fork_rng``) all follow ``seed`` and
the spec's own ``seed``; the caller's random state is left untouched. Results are bitwise
repeatable for a given number of threads (a different count sums in another order). torch has one
global generator per process, so while two runs go on at once in different threads, Dropout
masks draw from it in turn and such runs are repeatable only when run alone.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from plotly.subplots import make_subplots

from .analysis import analyze
from .datasets import Dataset, Split, digits
from .datasets import digits_dataset as digits_dataset
from .devices import pick_device
from .errors import SpecError
from .figures import FONT_SIZE, PLAN_COLORS, SMALL_FONT_SIZE, TEMPLATE
from .limits import (
    MAX_HEAVY_PARAMS,
    MAX_PASS_MACS,
    MAX_SIGNAL_ELEMENTS,
    MAX_TRAIN_MACS,
    MAX_TRAIN_SECONDS,
)
from .model import build_model
from .rng import PrivateStream, intra_op_threads
from .signal import heavy_macs, heavy_message, with_plan
from .spec import Spec, load_spec

Optimizer = Literal["adam", "sgd", "sgd_momentum"]
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd", "sgd_momentum")
DEFAULT_LR = {"adam": 3e-3, "sgd": 0.05, "sgd_momentum": 0.01}
"""Per optimizer. Adam at 3e-3 with batches of 16 takes the article's LeNet (article init) to
over 93 % held-out accuracy in 3 epochs for each of 16 seeds (mean 94.7 %; batches of 32 at 5e-3
average the same but dip to 89.8 % on one seed). The SGD rates take LeNet with PyTorch's default
init to about 92 % in 3 epochs; with the article's N(0, 0.01) Linear layers plain SGD stays at
chance for those epochs (the signal through three small Linear layers vanishes): a lesson the
two-plan comparison shows."""
DEFAULT_BATCH_SIZE = 16
MOMENTUM = 0.9  # for "sgd_momentum"
NUM_CLASSES = 10
MAX_EPOCHS = 100
MAX_BATCH_SIZE = 2048
MAX_CONCURRENT_RUNS = 2
STOP_REASONS: tuple[str, ...] = ("done", "cancelled", "time limit", "diverged")
"""Why a run ended: all epochs done; a callback returned False; the time limit; the loss became
NaN or infinite (e.g. a huge initializer)."""

_RUN_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_RUNS)


class TrainingBusy(RuntimeError):
    """Every training slot of this process is in use; try again when a run has finished."""


@dataclass(frozen=True)
class EpochResult:
    """One point of the training curves.

    Attributes:
        epoch: 0 before any training (the starting point), then 1, 2, ...
        train_loss: mean loss over the epoch's batches, as they were trained (None at epoch 0).
        train_accuracy: the fraction right in those batches, measured during the epoch (so with
            Dropout on and weights still moving); None at epoch 0.
        test_loss: mean loss on the held-out split after the epoch (eval mode).
        test_accuracy: fraction of the held-out split classified right.
        seconds: time this epoch took (training and evaluation).
        elapsed: seconds since the run started.
    """

    epoch: int
    train_loss: float | None
    train_accuracy: float | None
    test_loss: float
    test_accuracy: float
    seconds: float
    elapsed: float


@dataclass(frozen=True)
class TrainResult:
    """A whole run.

    Attributes:
        initial: the held-out loss and accuracy before training (epoch 0).
        epochs: one entry per completed epoch (a run stopped mid-epoch drops that epoch).
        batch_losses: the training loss of every batch, in order.
        stopped_reason: one of ``STOP_REASONS``.
        elapsed: seconds the whole run took, model building included.
        settings: what the run used: optimizer, lr, batch_size, epochs, seed, n_train, n_test,
            input_shape, loss ("cross_entropy", or "nll" after LogSoftmax / Softmax), data
            (the dataset's name), device (where it ran, as ``pick_device`` labels it).
        model: the trained model, on the CPU, in eval mode.
        split: the ``builder.datasets.Split`` it was trained and evaluated on.
    """

    initial: EpochResult
    epochs: tuple[EpochResult, ...]
    batch_losses: tuple[float, ...]
    stopped_reason: str
    elapsed: float
    settings: dict[str, Any] = field(default_factory=dict)
    model: Any = field(default=None, compare=False, repr=False)
    split: Any = field(default=None, compare=False, repr=False)

    @property
    def curve(self) -> tuple[EpochResult, ...]:
        """``initial`` followed by ``epochs``: the points a chart draws."""
        return (self.initial, *self.epochs)

    @property
    def train_losses(self) -> list[float]:
        return [e.train_loss for e in self.epochs if e.train_loss is not None]

    @property
    def test_losses(self) -> list[float]:
        return [e.test_loss for e in self.epochs]

    @property
    def test_accuracies(self) -> list[float]:
        return [e.test_accuracy for e in self.epochs]

    @property
    def test_accuracy(self) -> float:
        """The held-out accuracy at the end (before training if no epoch completed)."""
        return self.curve[-1].test_accuracy


# --- training ------------------------------------------------------------------------------------


def train(
    spec: Any,
    epochs: int = 3,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float | None = None,
    optimizer: Optimizer = "adam",
    seed: int = 0,
    time_limit: float = MAX_TRAIN_SECONDS,
    on_epoch: Callable[[EpochResult], bool | None] | None = None,
    on_batch: Callable[[float], bool | None] | None = None,
    test_fraction: float = 0.25,
    num_threads: int | None = 1,
    data: Dataset | None = None,
) -> TrainResult:
    """Train the design (built by ``build_model``, so its init plan applies) on the digits.

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts; its output must be 10 values for
            the digits, or at least one per class of ``data``.
        epochs: passes over the training split (1 to ``MAX_EPOCHS``).
        batch_size: samples per step (a last batch of one sample is skipped: BatchNorm needs 2).
        lr: the learning rate; None takes ``DEFAULT_LR[optimizer]``.
        optimizer: ``"adam"``, ``"sgd"`` or ``"sgd_momentum"`` (momentum 0.9).
        seed: seeds the split, the shuffling and Dropout (the weights follow the spec's seed).
        time_limit: seconds; capped at ``MAX_TRAIN_SECONDS``. The run stops after the batch
            (trained or evaluated) that crosses it; an epoch whose evaluation it cuts is dropped.
        on_epoch: called with epoch 0 (before training) and after each epoch; returning False
            cancels the run.
        on_batch: called after each batch with the progress in [0, 1] (and after each chunk of
            the held-out evaluation, progress unchanged, so a cancel is heard there too); False
            cancels.
        test_fraction: the held-out share of the samples.
        num_threads: torch intra-op threads during the run (restored after; None leaves torch's
            setting alone). See the module docstring for why 1.
        data: the samples to train on (``builder.datasets.load_upload``); None: the digits.

    Returns:
        The ``TrainResult``.

    Raises:
        SpecError: a design that fails analysis, does not output 10 values, or exceeds the
            limits; bad arguments.
        TrainingBusy: ``MAX_CONCURRENT_RUNS`` runs are already going on.
    """
    start = time.perf_counter()
    spec = load_spec(spec)
    _check_args(epochs, batch_size, optimizer, lr, time_limit, seed, num_threads)
    data = digits() if data is None else data
    loss_kind = _check_design(spec, batch_size, data)
    with _run_slot():
        run = functools.partial(
            _run,
            spec,
            epochs,
            batch_size,
            DEFAULT_LR[optimizer] if lr is None else float(lr),
            optimizer,
            seed,
            min(float(time_limit), MAX_TRAIN_SECONDS),
            on_epoch,
            on_batch,
            test_fraction,
            loss_kind,
            start,
            data,
        )
        return _execute(num_threads, seed, run)


@contextlib.contextmanager
def _run_slot() -> Iterator[None]:
    """One of the ``MAX_CONCURRENT_RUNS`` slots, or ``TrainingBusy`` at once (never a wait)."""
    if not _RUN_SLOTS.acquire(blocking=False):
        raise TrainingBusy(
            f"{MAX_CONCURRENT_RUNS} training runs are already going on; "
            "try again when one has finished"
        )
    try:
        yield
    finally:
        _RUN_SLOTS.release()


def _execute(num_threads: int | None, seed: int, run: Callable[[], TrainResult]) -> TrainResult:
    """``run()`` on its own intra-op threads and a forked, seeded global random state."""
    # Dropout draws from torch's global generator: the run keeps a stream of its own (see
    # builder/rng.py), so other sessions' seeded builds and this run never interleave
    with intra_op_threads(num_threads):
        return run()


def _run(
    spec: Spec,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str,
    seed: int,
    time_limit: float,
    on_epoch: Callable[[EpochResult], bool | None] | None,
    on_batch: Callable[[float], bool | None] | None,
    test_fraction: float,
    loss_kind: str,
    start: float,
    dataset: Dataset,
) -> TrainResult:
    data = Split(dataset, spec.input_shape, seed, test_fraction)
    device = pick_device()
    model = build_model(spec).to(device.kind)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _optimizer(optimizer, params, lr)
    shuffle = torch.Generator().manual_seed(seed)
    dropout = PrivateStream(seed)
    n_train = len(data.train_idx)
    batches = _batch_starts(n_train, batch_size)
    total_steps = max(1, epochs * len(batches))
    settings = _settings(spec, data, device.label, loss_kind, optimizer, lr, batch_size, epochs)
    settings.update(seed=seed, time_limit=time_limit)

    def finish(reason: str) -> TrainResult:
        elapsed = time.perf_counter() - start
        trained = model.to("cpu").eval()
        return TrainResult(
            initial, tuple(done), tuple(losses), reason, elapsed, settings, trained, data
        )

    def checkpoint() -> None:
        """After every batch, trained or evaluated: a cancel or the time limit stops the run."""
        if on_batch is not None and on_batch(step / total_steps) is False:
            raise _Stop("cancelled")
        if time.perf_counter() - start > time_limit:
            raise _Stop("time limit")

    initial = EpochResult(0, None, None, math.nan, math.nan, 0.0, 0.0)
    done: list[EpochResult] = []
    losses: list[float] = []
    step = 0
    try:
        if time.perf_counter() - start > time_limit:  # building may have used it all
            raise _Stop("time limit")
        test_loss, test_acc = _evaluate(model, data, batch_size, loss_kind, checkpoint)
        now = time.perf_counter() - start
        initial = EpochResult(0, None, None, test_loss, test_acc, now, now)
        if on_epoch is not None and on_epoch(initial) is False:
            raise _Stop("cancelled")
        for epoch in range(1, epochs + 1):
            epoch_start = time.perf_counter()
            model.train()
            order = data.train_idx[torch.randperm(n_train, generator=shuffle)]
            loss_sum, right, seen = torch.zeros((), dtype=torch.float64), 0, 0
            for begin in batches:
                x, y = data.batch(order[begin : begin + batch_size], device.kind)
                with dropout.active():
                    out = model(x)
                loss = _loss(out, y, loss_kind)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                value = loss.item()
                losses.append(value)
                if not math.isfinite(value):
                    raise _Stop("diverged")
                loss_sum += value * len(y)
                right += int((out.detach().argmax(1) == y).sum())
                seen += len(y)
                step += 1
                checkpoint()
            test_loss, test_acc = _evaluate(model, data, batch_size, loss_kind, checkpoint)
            now = time.perf_counter()
            result = EpochResult(
                epoch,
                float(loss_sum) / seen,
                right / seen,
                test_loss,
                test_acc,
                now - epoch_start,
                now - start,
            )
            done.append(result)
            if on_epoch is not None and on_epoch(result) is False:
                raise _Stop("cancelled")
    except _Stop as stop:
        return finish(stop.reason)
    return finish("done")


def compare_training(
    spec: Any,
    plan_a: Mapping[str, Any],
    plan_b: Mapping[str, Any],
    keep_layer_init: bool = False,
    epochs: int = 3,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float | None = None,
    optimizer: Optimizer = "adam",
    seed: int = 0,
    time_limit: float = MAX_TRAIN_SECONDS,
    on_epoch: Callable[[int, EpochResult], bool | None] | None = None,
    on_batch: Callable[[float], bool | None] | None = None,
    test_fraction: float = 0.25,
    num_threads: int | None = 1,
    data: Dataset | None = None,
) -> tuple[TrainResult, TrainResult]:
    """The same design trained twice, once per initializer plan, everything else equal.

    Both runs use the same split, batch order and spec seed; only the initialization differs.
    They run one after the other, each with half of ``time_limit``, in one training slot.

    Args:
        spec: the design.
        plan_a: the first plan, in the spec's top-level ``init`` form.
        plan_b: the second plan.
        keep_layer_init: keep the layers' own ``init`` overrides (by default dropped, so each
            plan applies to every layer of its type), as in ``signal.with_plan``.
        epochs, batch_size, lr, optimizer, seed, test_fraction, num_threads, data: as for
            ``train``.
        time_limit: seconds for both runs together (capped at ``MAX_TRAIN_SECONDS``).
        on_epoch: called as ``on_epoch(run, epoch_result)`` with ``run`` 0 or 1; False cancels.
        on_batch: called with the progress of both runs together in [0, 1]; False cancels.

    Returns:
        ``(result_a, result_b)``. If the first run is cancelled, the second is not started and
        its result is an empty run with ``stopped_reason`` "cancelled".

    Raises:
        SpecError: if the design or a plan is invalid (checked before either run starts).
        TrainingBusy: as for ``train``.
    """
    designs = [load_spec(with_plan(spec, plan, keep_layer_init)) for plan in (plan_a, plan_b)]
    _check_args(epochs, batch_size, optimizer, lr, time_limit, seed, num_threads)
    data = digits() if data is None else data
    kinds = [_check_design(design, batch_size, data) for design in designs]
    budget = min(float(time_limit), MAX_TRAIN_SECONDS) / 2
    results: list[TrainResult] = []
    with _run_slot():  # one slot for both runs, so the second cannot find the server busy
        for run, (design, kind) in enumerate(zip(designs, kinds)):
            if results and results[0].stopped_reason == "cancelled":
                results.append(_empty(results[0]))
                break
            epoch_cb = None if on_epoch is None else functools.partial(on_epoch, run)
            batch_cb = None
            if on_batch is not None:
                batch_cb = functools.partial(_half_progress, on_batch, run)
            run_one = functools.partial(
                _run,
                design,
                epochs,
                batch_size,
                DEFAULT_LR[optimizer] if lr is None else float(lr),
                optimizer,
                seed,
                budget,
                epoch_cb,
                batch_cb,
                test_fraction,
                kind,
                time.perf_counter(),
                data,
            )
            results.append(_execute(num_threads, seed, run_one))
    return results[0], results[1]


def _settings(
    spec: Spec,
    data: Split,
    device: str,
    loss_kind: str,
    optimizer: str,
    lr: float,
    batch_size: int,
    epochs: int,
) -> dict[str, Any]:
    """A run's ``TrainResult.settings`` (seed and time limit added by the caller)."""
    return {
        "optimizer": optimizer,
        "lr": lr,
        "batch_size": batch_size,
        "epochs": epochs,
        "n_train": len(data.train_idx),
        "n_test": len(data.test_idx),
        "input_shape": spec.input_shape,
        "loss": "cross_entropy" if loss_kind == "logits" else "nll",
        "data": data.dataset.name,
        "device": device,
    }


def _half_progress(on_batch: Callable[[float], bool | None], run: int, progress: float) -> Any:
    return on_batch((run + progress) / 2)


def _empty(first: TrainResult) -> TrainResult:
    nothing = EpochResult(0, None, None, math.nan, math.nan, 0.0, 0.0)
    return TrainResult(nothing, (), (), "cancelled", 0.0, dict(first.settings))


def _check_args(
    epochs: Any,
    batch_size: Any,
    optimizer: Any,
    lr: Any,
    time_limit: Any,
    seed: Any = 0,
    num_threads: Any = None,
) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise SpecError(f"seed must be an integer from 0 to 2**63 - 1, got {seed!r}")
    if num_threads is not None and (
        isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
    ):
        raise SpecError(f"num_threads must be None or a positive integer, got {num_threads!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= MAX_EPOCHS:
        raise SpecError(f"epochs must be an integer from 1 to {MAX_EPOCHS}, got {epochs!r}")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= MAX_BATCH_SIZE
    ):
        raise SpecError(
            f"batch_size must be an integer from 1 to {MAX_BATCH_SIZE}, got {batch_size!r}"
        )
    if optimizer not in OPTIMIZERS:
        raise SpecError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if lr is not None and (
        isinstance(lr, bool)
        or not isinstance(lr, (int, float))
        or not math.isfinite(lr)
        or not 0 < lr <= 10
    ):
        raise SpecError(f"lr must be a number in (0, 10], got {lr!r}")
    if (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, (int, float))
        or not time_limit > 0
    ):
        raise SpecError(f"time_limit must be a positive number of seconds, got {time_limit!r}")


def _check_design(spec: Spec, batch_size: int, data: Dataset) -> str:
    """Refuse what cannot or must not be trained; return how to read the output."""
    analysis = analyze(spec)
    if not analysis.ok:
        raise SpecError(analysis.error)
    out = analysis.output_shape
    if data.format == "digits" and out != (NUM_CLASSES,):
        raise SpecError(
            f"the last layer must output {NUM_CLASSES} values for the {NUM_CLASSES} digits, "
            f"got {out}; end with a Flatten (if needed) and a Linear with out_features=10"
        )
    classes = data.num_classes
    if out is None or len(out) != 1 or out[0] < classes:
        raise SpecError(
            f"the last layer must output one value per class ({classes} for {data.name}), "
            f"got {out}; end with a Flatten (if needed) and a Linear with "
            f"out_features={classes}"
        )
    if analysis.total_params > MAX_HEAVY_PARAMS:
        raise SpecError(
            f"the design has {analysis.total_params:,} parameters; training is limited to "
            f"{MAX_HEAVY_PARAMS:,}"
        )
    per_sample = _sample_elements(analysis)
    if per_sample * batch_size > MAX_SIGNAL_ELEMENTS:
        fits = MAX_SIGNAL_ELEMENTS // per_sample
        hint = f"use batch_size {fits} or less" if fits >= 1 else "use a smaller input_shape"
        raise SpecError(
            f"a batch of {batch_size} holds {per_sample * batch_size:,} activation elements; "
            f"the limit is {MAX_SIGNAL_ELEMENTS:,}: {hint}"
        )
    fits = training_batch_limit(spec, analysis)
    if batch_size > fits:
        passes = 3 * batch_size * heavy_macs(spec, analysis)
        raise SpecError(
            f"a training step on a batch of {batch_size} needs {passes:,} multiply-adds "
            "(forward and backward, as the limits weigh them); the limit for one step is "
            f"{MAX_PASS_MACS:,}: use batch_size {fits} or less"
        )
    return _loss_kind(spec)


def training_batch_limit(spec: Any, analysis: Any = None) -> int:
    """The largest ``batch_size`` that ``train`` accepts for this design.

    Args:
        spec: the design (a ``Spec`` or anything ``builder.load_spec`` accepts).
        analysis: its ``builder.analyze`` result, if already computed.

    Returns:
        ``min(MAX_BATCH_SIZE, MAX_SIGNAL_ELEMENTS // elements, MAX_PASS_MACS // (3 · heavy_macs))``
        with ``elements`` the input and every layer's output of one sample.

    Raises:
        SpecError: if the design fails analysis, one sample needs more than ``MAX_TRAIN_MACS``
            multiply-adds (``builder.signal.heavy_macs``), or not even one sample fits.
    """
    spec = load_spec(spec)
    analysis = analyze(spec) if analysis is None else analysis
    if not analysis.ok:
        raise SpecError(analysis.error)
    macs = heavy_macs(spec, analysis)
    if macs > MAX_TRAIN_MACS:
        raise SpecError(heavy_message(spec, analysis, "training's limit", MAX_TRAIN_MACS))
    per_sample = _sample_elements(analysis)
    if per_sample > MAX_SIGNAL_ELEMENTS:
        raise SpecError(
            f"one sample holds {per_sample:,} activation elements (input and every layer's "
            f"output); training's limit is {MAX_SIGNAL_ELEMENTS:,}: use a smaller input_shape"
        )
    by_macs = MAX_PASS_MACS // max(3 * macs, 1)
    if by_macs < 1:
        limit = f"training's limit for one sample ({MAX_PASS_MACS:,} for 3 passes)"
        raise SpecError(heavy_message(spec, analysis, limit, MAX_PASS_MACS // 3))
    return min(MAX_BATCH_SIZE, MAX_SIGNAL_ELEMENTS // per_sample, by_macs)


def _sample_elements(analysis: Any) -> int:
    return math.prod(analysis.input_shape) + sum(row.activations for row in analysis.layers)


def _loss_kind(spec: Spec) -> str:
    """``"log_probs"`` after LogSoftmax, ``"probs"`` after Softmax (over the classes), else
    ``"logits"``. Trailing layers that keep values as they are (Identity, Dropout, Flatten)
    are looked through."""
    for layer in reversed(spec.layers):
        if layer.type in ("Identity", "Dropout", "Flatten"):
            continue
        if layer.type in ("LogSoftmax", "Softmax") and layer.resolved()["dim"] in (None, 1, -1):
            return "log_probs" if layer.type == "LogSoftmax" else "probs"
        break
    return "logits"


def _loss(out: torch.Tensor, y: torch.Tensor, kind: str, reduction: str = "mean") -> torch.Tensor:
    if kind == "logits":
        return F.cross_entropy(out, y, reduction=reduction)
    if kind == "probs":
        out = torch.log(out.clamp_min(torch.finfo(out.dtype).tiny))
    return F.nll_loss(out, y, reduction=reduction)


class _Stop(Exception):
    """Ends a run early with ``reason`` (one of ``STOP_REASONS``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _evaluate(
    model: torch.nn.Module,
    data: Split,
    chunk: int,
    kind: str,
    checkpoint: Callable[[], None],
) -> tuple[float, float]:
    """Mean loss and accuracy on the held-out split, in eval mode, ``chunk`` samples at a time
    (``checkpoint`` after each chunk, so a cancel or the time limit is heard here too)."""
    model.eval()
    loss_sum, right = torch.zeros((), dtype=torch.float64), 0
    with torch.no_grad():
        for begin in range(0, len(data.test_idx), chunk):
            x, y = data.batch(data.test_idx[begin : begin + chunk], _device_of(model))
            out = model(x)
            loss_sum += float(_loss(out, y, kind, reduction="sum").double())
            right += int((out.argmax(1) == y).sum())
            checkpoint()
    n = len(data.test_idx)
    return float(loss_sum) / n, right / n


def _device_of(model: torch.nn.Module) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def _batch_starts(n: int, batch_size: int) -> list[int]:
    """Where each batch begins; a last batch of a single sample is dropped (BatchNorm)."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return starts


def _optimizer(name: str, params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if not params:
        raise SpecError("the design has no trainable parameters to train")
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=MOMENTUM if name == "sgd_momentum" else 0.0)


# --- figure --------------------------------------------------------------------------------------


def training_figure(
    results: Sequence[TrainResult],
    labels: Sequence[str] | None = None,
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """Loss and accuracy per epoch for one or more runs, overlaid (e.g. two init plans).

    Solid lines are the held-out split (from epoch 0, before training), dashed lines the
    training batches of each epoch. Works on a run in progress (fewer epochs).

    Args:
        results: the runs.
        labels: one name per run (default "run 1", "run 2", ...).
        title: the figure title.
        height: pixels.

    Returns:
        Two panels: loss (left) and accuracy in percent (right).
    """
    labels = list(labels) if labels is not None else [f"run {i + 1}" for i in range(len(results))]
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("loss", "accuracy (%)"), horizontal_spacing=0.1
    )
    colors = [*PLAN_COLORS, "#54A24B", "#F58518", "#B279A2"]
    for i, (result, label) in enumerate(zip(results, labels)):
        color = colors[i % len(colors)]
        curve = [e for e in result.curve if math.isfinite(e.test_loss)]
        trained = [e for e in result.epochs if e.train_loss is not None]
        lines = (
            (1, "held-out", curve, [e.test_loss for e in curve], "solid"),
            (1, "train", trained, [e.train_loss for e in trained], "dash"),
            (2, "held-out", curve, [100 * e.test_accuracy for e in curve], "solid"),
            (2, "train", trained, [100 * (e.train_accuracy or 0) for e in trained], "dash"),
        )
        for col, kind, points, ys, dash in lines:
            fig.add_trace(
                go.Scatter(
                    x=[e.epoch for e in points],
                    y=[_round4(v) for v in ys],
                    mode="lines+markers",
                    name=f"{label}: {kind}",
                    legendgroup=label,
                    showlegend=col == 1,
                    line={"color": color, "width": 3, "dash": dash},
                    marker={"size": 9},
                    hovertemplate=f"{label}, {kind}<br>epoch %{{x}}: %{{y:.3g}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    last = max((r.curve[-1].epoch for r in results), default=1)
    fig.update_xaxes(title_text="epoch", dtick=1, range=[-0.2, max(1, last) + 0.2])
    fig.update_yaxes(range=[0, 100], row=1, col=2)
    if title is None:
        finals = [
            f"{label}: {100 * r.test_accuracy:.1f} %"
            for r, label in zip(results, labels)
            if r.curve and math.isfinite(r.test_accuracy)
        ]
        data = results[0].settings.get("data", "digits") if results else "digits"
        name = "the digits" if data == "digits" else data
        title = f"Training on {name}" + (" · held-out " + ", ".join(finals) if finals else "")
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title={"text": title},
        legend={"orientation": "h", "y": -0.22, "yanchor": "top", "x": 0.5, "xanchor": "center"},
        margin={"t": 90, "b": 130, "l": 70, "r": 30},
    )
    fig.update_annotations(font_size=FONT_SIZE)
    fig.update_xaxes(tickfont_size=SMALL_FONT_SIZE + 2)
    return fig


def _round4(x: float) -> float:
    return round(x, 4) if math.isfinite(x) else x
