"""What a trained network learned: held-out predictions, confusion matrix, per-class accuracy,
misclassified examples, the first convolution's filters; the weights and curves as files.

Everything here reads a ``builder.training.TrainResult`` (its trained ``model`` and ``split``)
and returns numbers, Plotly figures or bytes; nothing draws or prints. The confusion matrix has
one row per true class and one column per predicted class (as ``sklearn.metrics``), over the
held-out samples in eval mode. A design that outputs more values than the data has classes can
predict a class that does not exist: those columns are named ``output k``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from plotly.subplots import make_subplots
from torch import nn

from .export import state_dict_bytes
from .figures import FONT_SIZE, SMALL_FONT_SIZE, TEMPLATE

MAX_SHOWN_EXAMPLES = 24
MAX_SHOWN_FILTERS = 32
MAX_SHOWN_SIDE = 64
"""An example is drawn at most this many pixels a side (averaged down), so a figure of large
images stays small."""
_COLUMNS = 8
CURVE_COLUMNS = (
    "run",
    "epoch",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "seconds",
    "elapsed",
)


@dataclass(frozen=True)
class Learned:
    """A trained model's held-out predictions.

    Attributes:
        classes: one name per row and column of ``confusion``.
        y_true: the held-out labels, in the split's order.
        y_pred: the predicted class of each (the output's argmax).
        test_idx: each held-out sample's index in the dataset.
        confusion: ``[K, K]`` counts, rows the true class, columns the predicted one.
    """

    classes: tuple[str, ...]
    y_true: np.ndarray
    y_pred: np.ndarray
    test_idx: np.ndarray
    confusion: np.ndarray

    @property
    def per_class(self) -> np.ndarray:
        """Each class's held-out accuracy (NaN for a class with no held-out sample)."""
        return per_class_accuracy(self.confusion)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.y_true == self.y_pred)) if len(self.y_true) else math.nan

    @property
    def wrong(self) -> np.ndarray:
        """Positions (in ``y_true``) of the misclassified samples."""
        return np.flatnonzero(self.y_true != self.y_pred)


def predictions(model: nn.Module, split: Any, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The held-out labels and the model's predicted classes (eval mode, no gradients).

    Args:
        model: the trained model.
        split: the ``builder.datasets.Split`` it was trained on.
        chunk: samples per forward pass.

    Returns:
        ``(y_true, y_pred)`` as int64 arrays.
    """
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    model.eval()
    preds = []
    with torch.no_grad():
        for begin in range(0, len(split.test_idx), chunk):
            x, _ = split.batch(split.test_idx[begin : begin + chunk], device)
            preds.append(model(x).argmax(1).cpu())
    y_pred = torch.cat(preds).numpy() if preds else np.zeros(0, dtype=np.int64)
    return split.labels[split.test_idx].numpy(), y_pred


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``[K, K]`` counts: row ``t``, column ``p`` is how many of class ``t`` were called ``p``."""
    flat = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, -1)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """The diagonal over each row's total (NaN for an empty row)."""
    totals = confusion.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)


def learned(result: Any) -> Learned:
    """The held-out predictions of a ``TrainResult``'s trained model.

    Args:
        result: a ``builder.training.TrainResult`` (with its ``model`` and ``split``).

    Returns:
        The ``Learned`` record.
    """
    split = result.split
    y_true, y_pred = predictions(result.model, split)
    classes = list(split.dataset.classes)
    top = int(max(y_pred.max(initial=0), y_true.max(initial=0))) + 1
    classes += [f"output {k}" for k in range(len(classes), top)]
    confusion = confusion_matrix(y_true, y_pred, len(classes))
    return Learned(tuple(classes), y_true, y_pred, split.test_idx.numpy(), confusion)


# --- the first convolution's filters -------------------------------------------------------------


def first_conv(model: nn.Module) -> nn.Module | None:
    """The first ``Conv2d`` or ``Conv1d`` in the model (in the order the design lists them)."""
    return next((m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Conv1d))), None)


def filter_images(model: nn.Module) -> np.ndarray | None:
    """The first convolution's weights, each filter scaled to [0, 1] (its min to 0, its max to
    1; a constant filter is 0.5 everywhere).

    Returns:
        ``[out, in, kh, kw]`` (``[out, in, k]`` for a Conv1d), float32; None without a conv.
    """
    conv = first_conv(model)
    if conv is None:
        return None
    w = conv.weight.detach().cpu().double()
    flat = w.reshape(len(w), -1)
    low, high = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    span = high - low
    half = torch.full_like(flat, 0.5)
    scaled = torch.where(span > 0, (flat - low) / span.clamp_min(1e-300), half)
    return scaled.reshape(w.shape).float().numpy()


# --- figures -------------------------------------------------------------------------------------


def confusion_figure(record: Learned, height: int = 520) -> go.Figure:
    """The confusion matrix as a heatmap with the counts written in (rows: true class)."""
    names = [_short(c) for c in record.classes]
    fig = go.Figure(
        go.Heatmap(
            z=record.confusion.tolist(),
            x=names,
            y=names,
            colorscale="Blues",
            text=record.confusion.tolist() if len(names) <= 20 else None,
            texttemplate="%{text}" if len(names) <= 20 else None,
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
            showscale=False,
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title={"text": f"Confusion matrix · held-out accuracy {100 * record.accuracy:.1f} %"},
        xaxis={"title": "predicted", "type": "category", "side": "bottom"},
        yaxis={"title": "true", "type": "category", "autorange": "reversed"},
        margin={"t": 70, "b": 60, "l": 80, "r": 20},
    )
    return fig


def per_class_figure(record: Learned, height: int = 380) -> go.Figure:
    """Each class's held-out accuracy as a bar (with how many held-out samples it had)."""
    totals = record.confusion.sum(1)
    accuracy = [None if math.isnan(a) else round(100 * a, 2) for a in record.per_class]
    fig = go.Figure(
        go.Bar(
            x=[_short(c) for c in record.classes],
            y=accuracy,
            customdata=totals.tolist(),
            marker_color="#4C78A8",
            hovertemplate="class %{x}: %{y:.1f} % of %{customdata}<extra></extra>",
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title={"text": "Per-class held-out accuracy"},
        xaxis={"title": "class", "type": "category"},
        yaxis={"title": "accuracy (%)", "range": [0, 100]},
        margin={"t": 70, "b": 60, "l": 70, "r": 20},
    )
    return fig


def misclassified_figure(result: Any, record: Learned, limit: int = MAX_SHOWN_EXAMPLES) -> Any:
    """The first ``limit`` misclassified held-out samples as images, titled true → predicted.

    Returns:
        The figure, or None when every held-out sample is right.
    """
    wrong = record.wrong[:limit]
    if not len(wrong):
        return None
    images = result.split.dataset.images[torch.as_tensor(record.test_idx[wrong])]
    titles = [
        f"{_short(record.classes[record.y_true[i]])} → {_short(record.classes[record.y_pred[i]])}"
        for i in wrong
    ]
    panels = [_displayable(image) for image in images]
    return _image_grid(panels, titles, f"Misclassified: true → predicted ({len(record.wrong)})")


def filters_figure(model: nn.Module) -> Any:
    """The first convolution's filters as images (``filter_images``): in colour for three input
    channels, else the mean over the input channels in grey. None without a convolution."""
    scaled = filter_images(model)
    if scaled is None:
        return None
    panels = []
    for f in scaled[:MAX_SHOWN_FILTERS]:
        if f.ndim == 2:  # Conv1d: [in, k] as a strip
            f = f[:, None, :]
        panels.append(f.transpose(1, 2, 0) if len(f) == 3 else f.mean(0))
    titles = [f"filter {k}" for k in range(len(panels))]
    shape = "×".join(map(str, scaled.shape[2:]))
    return _image_grid(panels, titles, f"First convolution's filters ({len(scaled)} of {shape})")


def _displayable(image: torch.Tensor) -> np.ndarray:
    """One sample as a grey ``[h, w]`` or colour ``[h, w, 3]`` array, at most
    ``MAX_SHOWN_SIDE`` a side."""
    x = image.detach().float()
    if x.ndim == 1:
        side = math.isqrt(len(x))
        x = x.reshape(1, side, side) if side * side == len(x) else x.reshape(1, 1, -1)
    elif x.ndim == 2:  # a sequence [C, L]
        x = x.mean(0, keepdim=True).unsqueeze(1)
    if len(x) != 3:
        x = x.mean(0, keepdim=True)
    h, w = x.shape[-2:]
    if max(h, w) > MAX_SHOWN_SIDE:
        size = (max(1, h * MAX_SHOWN_SIDE // max(h, w)), max(1, w * MAX_SHOWN_SIDE // max(h, w)))
        x = F.adaptive_avg_pool2d(x.unsqueeze(0), size)[0]
    low, high = float(x.min()), float(x.max())
    x = (x - low) / (high - low) if high > low else torch.full_like(x, 0.5)
    return x[0].numpy() if len(x) == 1 else x.permute(1, 2, 0).numpy()


def _image_grid(panels: Sequence[np.ndarray], titles: Sequence[str], title: str) -> go.Figure:
    """Images in [0, 1] (grey ``[h, w]``, colour ``[h, w, 3]``) in rows of ``_COLUMNS``."""
    rows = math.ceil(len(panels) / _COLUMNS)
    fig = make_subplots(
        rows=rows,
        cols=_COLUMNS,
        subplot_titles=list(titles),
        horizontal_spacing=0.02,
        vertical_spacing=0.3 / max(rows, 1),
    )
    for k, panel in enumerate(panels):
        row, col = k // _COLUMNS + 1, k % _COLUMNS + 1
        if panel.ndim == 3:
            trace = go.Image(z=np.round(255 * panel).astype(np.uint8).tolist(), hoverinfo="skip")
        else:
            trace = go.Heatmap(
                z=np.round(panel, 3).tolist(),
                colorscale="Greys",
                zmin=0,
                zmax=1,
                showscale=False,
                hoverinfo="skip",
            )
        fig.add_trace(trace, row=row, col=col)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_layout(
        template=TEMPLATE,
        height=80 + 150 * rows,
        title={"text": title},
        margin={"t": 80, "b": 10, "l": 10, "r": 10},
    )
    fig.update_annotations(font_size=SMALL_FONT_SIZE)
    fig.update_layout(title_font_size=FONT_SIZE)
    return fig


def _short(name: str, width: int = 16) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


# --- files ---------------------------------------------------------------------------------------


def weights_bytes(result: Any) -> bytes:
    """The trained weights as a ``torch.save``'d ``state_dict`` that the exported class loads
    with a strict ``load_state_dict`` (``builder.export.state_dict_bytes``)."""
    return state_dict_bytes(result.model)


def curves_csv(results: Sequence[Any], labels: Sequence[str]) -> str:
    """The training curves as CSV: one row per run and epoch (epoch 0 is before training), the
    columns of ``CURVE_COLUMNS``; accuracies as fractions, empty where there is no value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CURVE_COLUMNS)
    for label, result in zip(labels, results):
        for e in result.curve:
            values = (e.train_loss, e.train_accuracy, e.test_loss, e.test_accuracy)
            cells = ["" if v is None or not math.isfinite(v) else repr(float(v)) for v in values]
            writer.writerow([label, e.epoch, *cells, f"{e.seconds:.4f}", f"{e.elapsed:.4f}"])
    return out.getvalue()


@dataclass(frozen=True)
class Report:
    """What the Train tab shows after a run, as plain data (figures as Plotly JSON dicts).

    Attributes:
        confusion: the confusion matrix figure.
        per_class: the per-class accuracy figure.
        misclassified: the misclassified examples' figure, or None if none was wrong.
        filters: the first convolution's filters, or None without a convolution.
        weights: the trained weights (``.pt`` bytes).
        curves: the curves (CSV text).
        accuracy: the held-out accuracy of the (first) run's trained model.
    """

    confusion: dict[str, Any]
    per_class: dict[str, Any]
    misclassified: dict[str, Any] | None
    filters: dict[str, Any] | None
    weights: bytes
    curves: str
    accuracy: float


def report(results: Sequence[Any], labels: Sequence[str]) -> Report:
    """The ``Report`` of the first run (the design's own), with every run's curves.

    Args:
        results: the ``TrainResult`` of each run.
        labels: a name per run (the CSV's ``run`` column).

    Returns:
        The report.
    """
    first = results[0]
    record = learned(first)
    wrong = misclassified_figure(first, record)
    filters = filters_figure(first.model)
    return Report(
        confusion_figure(record).to_plotly_json(),
        per_class_figure(record).to_plotly_json(),
        None if wrong is None else wrong.to_plotly_json(),
        None if filters is None else filters.to_plotly_json(),
        weights_bytes(first),
        curves_csv(results, labels),
        record.accuracy,
    )
