"""The Plotly figures: pre-binned bars, the promised curve, captions, log-scale signal charts, and
JSON that stays small whatever the model's size."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import plotly.graph_objects as go
import pytest
import torch
from torch import nn

from builder.analysis import analyze
from builder.figures import (
    caption,
    compare_signal_figure,
    figures_json_size,
    histogram_figure,
    histogram_grid,
    scheme_label,
    signal_figure,
)
from builder.histograms import Histogram, promised_distribution, weight_histograms
from builder.initializers import expected_std
from builder.model import build_model
from builder.presets import ARTICLE_INIT, preset
from builder.signal import ActivationStat, activation_stats

KB = 1000
BINS = 60


def _strict_json(fig: go.Figure) -> dict:
    def refuse(name: str) -> None:
        raise ValueError(f"non-JSON constant {name}")

    return json.loads(fig.to_json(), parse_constant=refuse)


@pytest.fixture(scope="module")
def lenet_hists() -> list[Histogram]:
    return weight_histograms(build_model(preset()))


def vgg16_spec() -> dict:
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    layers: list[dict] = []
    for c in cfg:
        if c == "M":
            layers.append({"type": "MaxPool2d", "kernel_size": 2})
        else:
            layers += [{"type": "Conv2d", "out_channels": c, "kernel_size": 3, "padding": 1}]
            layers += [{"type": "ReLU"}]
    layers += [{"type": "Flatten"}, {"type": "Linear", "out_features": 4096}, {"type": "ReLU"}]
    layers += [{"type": "Dropout"}, {"type": "Linear", "out_features": 4096}, {"type": "ReLU"}]
    layers += [{"type": "Dropout"}, {"type": "Linear", "out_features": 1000}]
    return {"name": "VGG16", "input_shape": [3, 224, 224], "layers": layers, "init": ARTICLE_INIT}


def synthetic_histograms(spec: dict) -> list[Histogram]:
    """The histograms of a design without allocating it: counts are the promise's expected counts
    at the real sizes (a 102,760,448-value tensor has 8-digit counts, as in the real one)."""
    from builder.spec import load_spec

    loaded = load_spec(spec)
    out = []
    for index, row in enumerate(analyze(loaded).layers):
        shapes = dict(row.tensors)
        for tensor, shape in row.tensors:
            init = loaded.init_for(index, tensor)
            numel = math.prod(shape)
            std = expected_std(init, shape, row.type, shapes.get("weight"))
            promise = promised_distribution(init, shape, row.type, shapes.get("weight"))
            if promise is None:
                value = init.get("val", 1.0 if init["scheme"] == "ones" else 0.0)
                edges = [value - 1e-3 + 2e-3 * k / BINS for k in range(BINS + 1)]
                counts = [0] * BINS
                counts[BINS // 2] = numel
                lo = hi = value
            else:
                lo, hi = promise.mean - 4.5 * std, promise.mean + 4.5 * std
                edges = [lo + (hi - lo) * k / BINS for k in range(BINS + 1)]
                width = (hi - lo) / BINS
                counts = [
                    round(numel * width * promise.pdf(lo + (k + 0.5) * width)) for k in range(BINS)
                ]
                counts[BINS // 2] += numel - sum(counts)
            out.append(
                Histogram(
                    name=f"{row.name}.{tensor}",
                    layer=row.name,
                    tensor=tensor,
                    layer_type=row.type,
                    shape=shape,
                    numel=numel,
                    counts=counts,
                    edges=edges,
                    mean=0.0,
                    std=std,
                    min=lo,
                    max=hi,
                    scheme=init,
                    expected_std=std,
                    promise=promise,
                )
            )
    return out


# --- one histogram -------------------------------------------------------------------------------


def test_histogram_figure_is_bars_of_the_counts(lenet_hists):
    hist = next(h for h in lenet_hists if h.name == "conv1.weight")
    fig = histogram_figure(hist)
    assert isinstance(fig, go.Figure)
    bar, curve = fig.data
    assert bar.type == "bar" and curve.type == "scatter"
    assert list(bar.y) == hist.counts
    assert bar.x is None  # positions are x0 + i·dx: 60 numbers fewer in the JSON
    centers = [bar.x0 + i * bar.dx for i in range(BINS)]
    for x, a, b in zip(centers, hist.edges, hist.edges[1:]):
        assert a < x < b and x == pytest.approx((a + b) / 2, abs=1e-3 * hist.bin_width)
    assert bar.width == bar.dx == pytest.approx(hist.bin_width, rel=1e-5)
    shown = [v for pair in bar.customdata for v in pair]  # each bar's edges, for its hover
    edges = [v for pair in zip(hist.edges, hist.edges[1:]) for v in pair]
    assert shown == pytest.approx(edges, abs=1e-3 * hist.bin_width)
    # the curve is the promised density in counts: its peak is numel·width·pdf(mean)
    peak = hist.numel * hist.bin_width / (hist.expected_std * math.sqrt(2 * math.pi))
    assert max(curve.y) == pytest.approx(peak, rel=1e-3)
    assert fig.layout.yaxis.title.text == "count"


def test_histogram_title_and_caption(lenet_hists):
    hist = next(h for h in lenet_hists if h.name == "fc1.weight")
    fig = histogram_figure(hist)
    assert "fc1.weight" in fig.layout.title.text and "120×400" in fig.layout.title.text
    assert "normal(mean=0, std=0.01)" in fig.layout.title.text
    text = fig.layout.title.subtitle.text
    assert text == caption(hist)
    assert f"measured std {hist.std:.3g}" in text and "promised 0.01" in text
    assert f"({hist.std / 0.01 - 1:+.1%})" in text


def test_constant_and_unknown_captions(lenet_hists):
    bias = next(h for h in lenet_hists if h.name == "conv1.bias")
    assert caption(bias) == "constant 0: measured std 0 · promised 0"
    fig = histogram_figure(bias)
    assert [t.type for t in fig.data] == ["bar"]  # no density to draw for a constant
    assert sum(fig.data[0].y) == bias.numel
    (plain,) = weight_histograms(nn.Linear(30, 20, bias=False))
    assert caption(plain) == f"measured std {plain.std:.3g} · no promise known"
    assert "scheme unknown" in histogram_figure(plain).layout.title.text


@pytest.mark.parametrize(
    ("scheme", "label"),
    [
        ({"scheme": "default"}, "PyTorch default"),
        ({"scheme": "xavier_normal"}, "xavier_normal"),
        ({"scheme": "kaiming_normal", "nonlinearity": "relu"}, "kaiming_normal(nonlinearity=relu)"),
        ({"scheme": "constant", "val": 0.5}, "constant(val=0.5)"),
        (None, "scheme unknown"),
    ],
)
def test_scheme_label(scheme, label):
    assert scheme_label(scheme) == label


def test_json_is_strict_and_independent_of_tensor_size():
    """Pre-binned: a million values give the same figure size as a thousand (up to digits)."""
    sizes = []
    for n in (1_000, 1_000_000):
        module = nn.Module()
        module.w = nn.Parameter(torch.randn(n, generator=torch.Generator().manual_seed(0)))
        fig = histogram_figure(weight_histograms(module)[0])
        data = _strict_json(fig)
        assert all(t["type"] != "histogram" for t in data["data"])
        sizes.append(len(fig.to_json()))
    assert sizes[1] < 1.15 * sizes[0]
    assert sizes[1] < 10 * KB


# --- the grid --------------------------------------------------------------------------------------


def test_grid_has_one_panel_per_tensor(lenet_hists):
    fig = histogram_grid(lenet_hists, cols=3)
    bars = [t for t in fig.data if t.type == "bar"]
    curves = [t for t in fig.data if t.type == "scatter"]
    assert len(bars) == len(lenet_hists) == 10
    assert [list(b.y) for b in bars] == [h.counts for h in lenet_hists]
    assert len(curves) == sum(h.promise is not None for h in lenet_hists)
    titles = [a.text for a in fig.layout.annotations]
    for hist, title in zip(lenet_hists, titles):
        assert hist.name in title
    assert bars[3].xaxis == "x4"  # panel 4: row 2, column 1
    assert fig.layout.height == 4 * 260 + 140
    _strict_json(fig)


def test_empty_grid():
    fig = histogram_grid([])
    assert isinstance(fig, go.Figure) and len(fig.data) == 0


def test_vgg16_figures_stay_small():
    """All 32 tensors of a 138 M-parameter VGG16: every per-tensor figure plus the grid."""
    hists = synthetic_histograms(vgg16_spec())
    assert len(hists) == 32 and sum(h.numel for h in hists) == 138_357_544
    singles = figures_json_size(histogram_figure(h) for h in hists)
    grid = figures_json_size([histogram_grid(hists)])
    assert singles + grid < 500 * KB, (singles, grid)


def test_a_deep_grid_stays_small():
    """300 tensors: the grid shares a fixed budget of curve points among its panels."""
    layers = [{"type": "Linear", "out_features": 64} for _ in range(150)]
    hists = synthetic_histograms({"input_shape": [64], "layers": layers})
    assert len(hists) == 300
    assert figures_json_size([histogram_grid(hists)]) < 500 * KB


# --- signal through depth -----------------------------------------------------------------------


def _stats(stds: list[float]) -> list[ActivationStat]:
    return [
        ActivationStat(i, "input" if i == 0 else f"layer{i}", "X", (4,), 0.1 * i, s, 0.25)
        for i, s in enumerate(stds)
    ]


def test_signal_figure_is_std_on_a_log_axis():
    stats = _stats([1.0, 0.123456789, 1e-9, 0.0])
    fig = signal_figure(stats)
    (trace,) = fig.data
    assert fig.layout.yaxis.type == "log"
    assert list(trace.x) == [0, 1, 2, 3]
    assert list(trace.y) == [1.0, 0.1235, 1e-9, None]  # 4 digits; 0 cannot sit on a log axis
    assert list(fig.layout.xaxis.ticktext) == ["input", "layer1", "layer2", "layer3"]
    assert list(trace.customdata[2]) == ["layer2", "X", 0.2, 0.25]
    assert fig.layout.yaxis.dtick == 1  # nine decades: one label per decade
    _strict_json(fig)


def test_signal_figure_of_a_real_model():
    model = build_model(preset())
    stats = activation_stats(model, batch_size=8)
    fig = signal_figure(stats, title="LeNet")
    assert fig.layout.title.text == "LeNet"
    assert len(fig.data[0].y) == len(stats) == 13


def test_compare_figure_overlays_two_plans():
    a = _stats([1.0, 1e-2, 1e-4, 1e-6])
    b = _stats([1.0, 0.9, 1.1, 1.0])
    fig = compare_signal_figure(a, b, ("N(0, 0.01²)", "Kaiming"))
    assert [t.name for t in fig.data] == ["N(0, 0.01²)", "Kaiming"]
    assert fig.layout.yaxis.type == "log"
    assert "6.0 orders of magnitude" in fig.layout.title.subtitle.text
    assert "after layer3" in fig.layout.title.subtitle.text
    _strict_json(fig)


def test_compare_figure_side_by_side():
    a = _stats([1.0, 1e-2, 1e-4])
    b = _stats([1.0, 0.9, 1.1])
    fig = compare_signal_figure(a, b, ("A", "B"), side_by_side=True)
    assert (fig.data[0].xaxis, fig.data[1].xaxis) == ("x", "x2")
    assert fig.layout.yaxis.type == fig.layout.yaxis2.type == "log"
    assert fig.layout.yaxis.dtick == fig.layout.yaxis2.dtick == 1  # one scale for both panels
    assert [a.text for a in fig.layout.annotations] == ["A", "B"]


def test_builder_never_imports_streamlit():
    code = (
        "import sys, builder.histograms, builder.signal, builder.figures; "
        "assert 'streamlit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=".")


def test_the_live_diagram_stays_importable_from_figures():
    from builder import diagram_figure, figures

    for name in ("diagram_figure", "reflow", "DIAGRAM_TEMPLATE", "HIGHLIGHT_COLOR"):
        assert getattr(figures, name) is getattr(diagram_figure, name)
