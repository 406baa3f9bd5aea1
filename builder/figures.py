"""Plotly figures of weight histograms and of the signal through depth: pure functions, no UI.

Every function takes the facts (``Histogram``, ``ActivationStat``) and returns a ``go.Figure``;
nothing here draws, prints or imports Streamlit. The figures are made to be read from the back of
a classroom (large fonts) and to stay small on the wire: bars are the pre-binned counts (never a
``go.Histogram`` of raw values), floats are rounded to what the eye can see, and the layout uses
a small template of its own instead of embedding Plotly's default one in every figure.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .diagram_figure import (  # noqa: F401  (the live diagram moved; its names stay importable)
    ARROW_COLOR,
    DIAGRAM_TEMPLATE,
    FULL_LABEL_SCALE,
    HIGHLIGHT_COLOR,
    SHAPE_LABEL_SCALE,
    UNSELECTED_OPACITY,
    diagram_figure,
    reflow,
)
from .histograms import Histogram, promised_curve
from .messages import N_, Translator, localize
from .signal import ActivationStat

FONT_SIZE = 18
SMALL_FONT_SIZE = 14
BAR_COLOR = "#4C78A8"
CURVE_COLOR = "#E45756"
PLAN_COLORS = ("#E45756", "#4C78A8")
GRID_BUDGET = 4000  # curve points shared by all panels of a grid, so its size stays bounded
_BAR_HOVER = "%{x:.4g}: %{y}<extra></extra>"

_AXIS = {"showgrid": True, "gridcolor": "#e5e5e5", "zeroline": False}
_HISTOGRAM_TRACES = {
    # trace defaults live in the template, sent once instead of with every panel's traces
    "bar": [{"marker": {"color": BAR_COLOR, "line": {"width": 0}}, "hovertemplate": _BAR_HOVER}],
    "scatter": [{"mode": "lines", "line": {"color": CURVE_COLOR, "width": 3}, "hoverinfo": "skip"}],
}
TEMPLATE = go.layout.Template(
    layout={
        "font": {"size": FONT_SIZE, "family": "Arial, Helvetica, sans-serif"},
        "title": {"font": {"size": FONT_SIZE + 4}, "x": 0.02, "xanchor": "left"},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "legend": {"font": {"size": SMALL_FONT_SIZE + 2}},
        "hoverlabel": {"font": {"size": SMALL_FONT_SIZE + 2}},
    },
)
HISTOGRAM_TEMPLATE = go.layout.Template(TEMPLATE, data=_HISTOGRAM_TRACES)
GRID_TEMPLATE = go.layout.Template(HISTOGRAM_TEMPLATE)
GRID_TEMPLATE.layout.xaxis.update(tickfont_size=SMALL_FONT_SIZE - 2, nticks=4)
GRID_TEMPLATE.layout.yaxis.update(tickfont_size=SMALL_FONT_SIZE - 2, nticks=4)


def scheme_label(scheme: Mapping[str, Any] | None, translate: Translator | None = None) -> str:
    """A scheme in words: ``"normal(mean=0, std=0.01)"``, ``"PyTorch default"``, ``"unknown"``."""
    if scheme is None:
        return localize(translate, N_("scheme unknown"))
    name = scheme.get("scheme", "?")
    if name == "default":
        return localize(translate, N_("PyTorch default"))
    args = ", ".join(
        f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in scheme.items()
        if key != "scheme"
    )
    return f"{name}({args})" if args else str(name)


def caption(hist: Histogram, translate: Translator | None = None) -> str:
    """Measured vs promised spread in one line: ``measured std 0.0412 · promised 0.041 (+0.5%)``
    (``translate``: the reader's language, see ``builder.messages.localize``)."""
    if hist.is_constant:
        text = localize(translate, N_("constant {value}: measured std 0"), value=_num(hist.min))
        if hist.expected_std is not None:
            text += localize(translate, N_(" · promised {std}"), std=_num(hist.expected_std))
        return text
    text = localize(translate, N_("measured std {std}"), std=_num(hist.std))
    if hist.expected_std is None:
        return text + localize(translate, N_(" · no promise known"))
    text += localize(translate, N_(" · promised {std}"), std=_num(hist.expected_std))
    if hist.expected_std > 0:
        text += f" ({hist.std / hist.expected_std - 1:+.1%})"
    return text


def histogram_figure(
    hist: Histogram,
    curve_points: int = 200,
    height: int = 460,
    translate: Translator | None = None,
) -> go.Figure:
    """One parameter tensor: its counts as bars, the promised density as a curve, and a caption.

    Args:
        hist: a ``Histogram`` from ``weight_histograms``.
        curve_points: points on the promised curve.
        height: figure height in pixels.
        translate: message id -> the reader's template (``builder.messages.localize``);
            English by default.

    Returns:
        The figure; its title names the tensor, shape and scheme, its caption compares the stds.
    """
    fig = go.Figure(layout={"template": HISTOGRAM_TEMPLATE, "height": height})
    for trace in _histogram_traces(hist, curve_points, detailed=True, translate=translate):
        fig.add_trace(trace)
    shape = "×".join(str(s) for s in hist.shape) or localize(translate, N_("scalar"))
    fig.update_layout(
        title={
            "text": f"{hist.name} [{shape}] · {scheme_label(hist.scheme, translate)}",
            "subtitle": {"text": caption(hist, translate), "font": {"size": FONT_SIZE}},
        },
        xaxis_title=localize(translate, N_("value")),
        yaxis_title=localize(translate, N_("count")),
        bargap=0.05,
        margin={"t": 110, "b": 70, "l": 80, "r": 30},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"},
    )
    return fig


def histogram_grid(
    hists: Sequence[Histogram],
    cols: int = 3,
    curve_points: int | None = None,
    panel_height: int = 260,
    translate: Translator | None = None,
) -> go.Figure:
    """Small multiples: every tensor's histogram and promised curve in a grid of panels.

    Args:
        hists: histograms, e.g. all of ``weight_histograms(model)``.
        cols: panels per row.
        curve_points: points per curve; by default the grid shares ``GRID_BUDGET`` points among
            its panels (at least 24, at most 120 each), so a deep model's grid stays small.
        panel_height: pixels per row of panels.
        translate: message id -> the reader's template; English by default.

    Returns:
        The figure; each panel's title is the tensor's name and its measured / promised std.
    """
    hists = list(hists)
    cols = max(1, min(cols, len(hists) or 1))
    rows = max(1, math.ceil(len(hists) / cols))
    if curve_points is None:
        curve_points = max(24, min(120, GRID_BUDGET // max(len(hists), 1)))
    titles = [f"<b>{h.name}</b><br>{_short_caption(h, translate)}" for h in hists]
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles or None,
        vertical_spacing=min(0.3, 80 / (rows * panel_height)),
        horizontal_spacing=0.06,
    )
    for i, hist in enumerate(hists):
        for trace in _histogram_traces(hist, curve_points, detailed=False):
            fig.add_trace(trace, row=i // cols + 1, col=i % cols + 1)
    _round_positions(fig)
    fig.update_layout(
        template=GRID_TEMPLATE,
        height=rows * panel_height + 140,
        title={
            "text": localize(translate, N_("Weights by layer: measured (bars) vs promised (curve)"))
        },
        bargap=0.05,
        margin={"t": 130, "b": 30, "l": 50, "r": 20},
        showlegend=False,
    )
    return fig


def signal_figure(
    stats: Sequence[ActivationStat],
    title: str | None = None,
    label: str = "std",
    translate: Translator | None = None,
) -> go.Figure:
    """The std of each layer's output through depth, on a log axis.

    Args:
        stats: from ``activation_stats`` (index 0 is the input).
        title: the figure title (default: "Signal through depth").
        label: the trace's legend name.
        translate: message id -> the reader's template; English by default.

    Returns:
        The figure; hovering a point shows the layer's mean, std and fraction of zeros. A layer
        whose output is all zeros (std 0) leaves a gap, as a log axis has no 0.
    """
    fig = go.Figure(layout={"template": TEMPLATE, "height": 520})
    fig.add_trace(_signal_trace(stats, label, PLAN_COLORS[1]))
    title = title or localize(translate, N_("Signal through depth: std of each layer's output"))
    _signal_layout(fig, stats, title, translate=translate)
    return fig


def compare_signal_figure(
    stats_a: Sequence[ActivationStat],
    stats_b: Sequence[ActivationStat],
    labels: Sequence[str] = ("plan A", "plan B"),
    side_by_side: bool = False,
    title: str | None = None,
    translate: Translator | None = None,
) -> go.Figure:
    """Two initializer plans' signal through depth, for a class to compare.

    By default both lines share one log axis, where the gap between them reads directly as orders
    of magnitude; ``side_by_side`` puts each in its own panel (same y axis) instead.

    Args:
        stats_a: the first plan's ``activation_stats``.
        stats_b: the second plan's.
        labels: the two plans' names.
        side_by_side: one panel per plan instead of one shared panel.
        title: the figure title.
        translate: message id -> the reader's template; English by default.

    Returns:
        The figure, annotated with the ratio of the two stds after the last layer.
    """
    label_a, label_b = labels
    title = title or localize(translate, N_("Signal through depth: two initializer plans"))
    ratio = _ratio_text(stats_a, stats_b, label_a, label_b, translate)
    if side_by_side:
        fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=(label_a, label_b))
        fig.add_trace(_signal_trace(stats_a, label_a, PLAN_COLORS[0]), row=1, col=1)
        fig.add_trace(_signal_trace(stats_b, label_b, PLAN_COLORS[1]), row=1, col=2)
        fig.update_layout(template=TEMPLATE, height=560)
        both = [*stats_a, *stats_b]
        _signal_layout(fig, stats_a, title, col=1, all_stats=both, translate=translate)
        _signal_layout(fig, stats_b, title, col=2, all_stats=both, translate=translate)
    else:
        fig = go.Figure(layout={"template": TEMPLATE, "height": 560})
        fig.add_trace(_signal_trace(stats_a, label_a, PLAN_COLORS[0]))
        fig.add_trace(_signal_trace(stats_b, label_b, PLAN_COLORS[1], dash="dash"))
        longer = stats_a if len(stats_a) >= len(stats_b) else stats_b
        _signal_layout(fig, longer, title, all_stats=[*stats_a, *stats_b], translate=translate)
    if ratio:
        fig.update_layout(
            title={"subtitle": {"text": ratio, "font": {"size": FONT_SIZE}}}, margin={"t": 120}
        )
    return fig


def log_where_spread(figure: go.Figure | Mapping[str, Any], decades: float = 1.0) -> go.Figure:
    """Put a y axis on a log scale where its values span ``decades`` orders of magnitude or more
    (a loss that starts near 5,400 and ends near 0.1). An axis with a range of its own (the
    accuracy panel's 0 to 100 %) or with values at or below 0 stays linear.

    Args:
        figure: a figure or its JSON (``to_plotly_json``), e.g. ``training_figure``'s.
        decades: the spread (``log10(max / min)``) from which an axis goes logarithmic.

    Returns:
        The figure, with ``exponentformat="power"`` on each axis made logarithmic.
    """
    fig = go.Figure(figure)
    values: dict[str, list[float]] = {}
    for trace in fig.data:
        axis = "yaxis" + (trace.yaxis or "y")[1:]
        values.setdefault(axis, []).extend(
            float(v) for v in (trace.y or ()) if v is not None and math.isfinite(float(v))
        )
    for axis, ys in values.items():
        if not ys or min(ys) <= 0 or fig.layout[axis].range is not None:
            continue
        spread = math.log10(max(ys) / min(ys))
        if spread >= decades:  # one label per decade, or 1-2-5 on a short range
            fig.layout[axis].update(
                type="log", exponentformat="power", dtick=1 if spread >= 2 else "D2"
            )
    return fig


BYTE_UNITS = (("GB", 1e9), ("MB", 1e6), ("kB", 1e3), ("B", 1.0))


def byte_unit(largest: float) -> tuple[str, float]:
    """The decimal unit a number of bytes reads best in: ``("MB", 1e6)`` for 5.6 MB."""
    return next(((u, size) for u, size in BYTE_UNITS if largest >= size), BYTE_UNITS[-1])


def memory_in_units(figure: go.Figure | Mapping[str, Any], parts: Sequence[float]) -> go.Figure:
    """``memory.memory_figure`` (drawn in GB) redrawn in the unit that fits its numbers: a
    5.6 MB step is drawn in MB, a 40 GB one in GB. The bars take the exact byte counts; the GPU
    lines, their labels and the axis title move with the unit.

    Args:
        figure: the memory figure or its JSON.
        parts: the bytes of each bar, in the figure's trace order (``estimate.parts()``).

    Returns:
        The figure in the new unit.
    """
    fig = go.Figure(figure)
    lines = [float(shape.x0) * 1e9 for shape in fig.layout.shapes if shape.x0 is not None]
    unit, size = byte_unit(max([sum(parts), *lines, 1.0]))
    for trace, value in zip(fig.data, parts):
        trace.x = [_round_sig(value / size, 6)]
    for shape in fig.layout.shapes:
        shape.x0, shape.x1 = (
            _round_sig(shape.x0 * 1e9 / size, 6),
            _round_sig(shape.x1 * 1e9 / size, 6),
        )
    for note in fig.layout.annotations:
        if note.x is not None and note.xref in (None, "x"):
            note.x = _round_sig(note.x * 1e9 / size, 6)
    fig.update_xaxes(title_text=unit)
    return fig


def legend_for_lines(figure: go.Figure | Mapping[str, Any]) -> go.Figure:
    """Move the labels of horizontal reference lines (``add_hline``'s annotation, e.g. "image
    height 32") into the legend, where they cannot sit on a bar's label; bar labels that would
    need shrinking below 10 px are hidden (the hover still tells).

    Returns:
        The figure: one legend entry drawn like each line, no line annotations.
    """
    fig = go.Figure(figure)
    kept = []
    for note in fig.layout.annotations:
        line = next(
            (s for s in fig.layout.shapes if s.y0 is not None and s.y0 == s.y1 == note.y), None
        )
        if line is None or note.yref not in (None, "y"):
            kept.append(note)
            continue
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                name=note.text,
                line={"color": line.line.color, "dash": line.line.dash, "width": line.line.width},
                hoverinfo="skip",
            )
        )
    fig.layout.annotations = kept
    # a bar label that only fits squeezed below 10 px is left to the hover
    fig.update_layout(uniformtext={"minsize": 10, "mode": "hide"})
    return fig


def figures_json_size(figures: Iterable[go.Figure]) -> int:
    """Bytes of the figures' JSON, as the browser receives them."""
    return sum(len(fig.to_json().encode()) for fig in figures)


# --- helpers -------------------------------------------------------------------------------------


def _histogram_traces(
    hist: Histogram, curve_points: int, detailed: bool, translate: Translator | None = None
) -> list[go.BaseTraceType]:
    """The bars (``x0`` + ``dx``: no list of positions) and the promised curve of one tensor.

    ``detailed`` adds what a single figure shows and a grid panel does without: legend entries,
    each bar's edges on hover, and vertical steps at a uniform's ends."""
    width = hist.bin_width
    bar: dict[str, Any] = {
        "x0": _round_to(0.5 * (hist.edges[0] + hist.edges[1]), width),
        "dx": _round_sig(width, 6),
        "y": list(hist.counts),
        "width": _round_sig(width, 6),
    }
    if detailed:
        bar["customdata"] = [
            [_round_to(a, width), _round_to(b, width)] for a, b in itertools.pairwise(hist.edges)
        ]
        bar["hovertemplate"] = "[%{customdata[0]}, %{customdata[1]}): %{y}<extra></extra>"
        bar["name"] = localize(translate, N_("measured"))
    traces: list[go.BaseTraceType] = [go.Bar(**bar)]
    xs, ys = promised_curve(hist, curve_points, steps=detailed)
    if xs:
        curve: dict[str, Any] = {"y": [_round_sig(y, 4) for y in ys]}
        if detailed:
            curve["x"] = [_round_to(x, width) for x in xs]
            approximate = hist.promise is not None and hist.promise.approximate
            curve["name"] = localize(
                translate, N_("promised (approx.)") if approximate else N_("promised")
            )
        else:  # evenly spaced: x0 + dx as for the bars
            curve["x0"] = _round_to(xs[0], width)
            curve["dx"] = _round_sig(xs[1] - xs[0], 6)
        traces.append(go.Scatter(**curve))
    return traces


def _short_caption(hist: Histogram, translate: Translator | None = None) -> str:
    if hist.is_constant:
        return localize(translate, N_("constant {value}"), value=_num(hist.min))
    promised = "?" if hist.expected_std is None else _num(hist.expected_std)
    return localize(
        translate, N_("σ {std} / promised {promised}"), std=_num(hist.std), promised=promised
    )


def _signal_trace(
    stats: Sequence[ActivationStat], name: str, color: str, dash: str = "solid"
) -> go.Scatter:
    return go.Scatter(
        x=[s.index for s in stats],
        y=[_round_sig(s.std, 4) if s.std > 0 else None for s in stats],
        customdata=[
            [s.name, s.type, _round_sig(s.mean, 3), round(s.zero_fraction, 3)] for s in stats
        ],
        hovertemplate=(
            "%{customdata[0]} (%{customdata[1]})<br>std %{y:.3g}<br>mean %{customdata[2]:.3g}"
            "<br>zeros %{customdata[3]:.1%}<extra>" + name + "</extra>"
        ),
        mode="lines+markers",
        line={"color": color, "width": 3, "dash": dash},
        marker={"size": 9},
        name=name,
    )


def _signal_layout(
    fig: go.Figure,
    stats: Sequence[ActivationStat],
    title: str,
    col: int | None = None,
    all_stats: Sequence[ActivationStat] | None = None,
    translate: Translator | None = None,
) -> None:
    """Axes and title of a signal chart; ``all_stats`` (default ``stats``) sets the y ticks."""
    where = {"row": 1, "col": col} if col is not None else {}
    fig.update_xaxes(
        tickvals=[s.index for s in stats],
        ticktext=[s.name for s in stats],
        tickangle=-45,
        tickfont_size=SMALL_FONT_SIZE,
        title_text=localize(translate, N_("layer (depth)")),
        **where,
    )
    positive = [s.std for s in (all_stats or stats) if s.std > 0]
    decades = math.log10(max(positive) / min(positive)) if positive else 0.0
    fig.update_yaxes(
        type="log",
        exponentformat="power",
        dtick=1 if decades >= 2 else "D2",  # one label per decade, or 1-2-5 on a short range
        title_text=localize(translate, N_("std of output (log)")) if col in (None, 1) else None,
        **where,
    )
    fig.update_layout(
        title={"text": title},
        hovermode="closest",
        legend={"orientation": "h", "y": -0.38, "yanchor": "top", "x": 0.5, "xanchor": "center"},
        margin={"t": 90, "b": 170, "l": 90, "r": 30},
    )


def _ratio_text(
    stats_a: Sequence[ActivationStat],
    stats_b: Sequence[ActivationStat],
    label_a: str,
    label_b: str,
    translate: Translator | None = None,
) -> str:
    if not stats_a or not stats_b:
        return ""
    last_a, last_b = stats_a[-1], stats_b[-1]
    if last_a.std <= 0 or last_b.std <= 0:
        return ""
    ratio = last_b.std / last_a.std
    return localize(
        translate,
        N_(
            "after {layer}: std {std_a} ({label_a}) vs {std_b} ({label_b}), "
            "{orders} orders of magnitude apart"
        ),
        layer=last_a.name,
        std_a=_num(last_a.std),
        label_a=label_a,
        std_b=_num(last_b.std),
        label_b=label_b,
        orders=f"{abs(math.log10(ratio)):.1f}",
    )


def _round_positions(fig: go.Figure) -> None:
    """Round the subplot domains and title positions ``make_subplots`` computed (to 1/10,000 of
    the figure: far below a pixel), which would otherwise be sent with 17 digits each."""
    for name in fig.layout:
        if name.startswith(("xaxis", "yaxis")) and fig.layout[name].domain:
            fig.layout[name].domain = [round(d, 4) for d in fig.layout[name].domain]
    for note in fig.layout.annotations:
        note.x, note.y = round(note.x, 4), round(note.y, 4)


def _num(x: float) -> str:
    """A number for a caption: 3 significant digits."""
    return f"{x:.3g}"


def _round_sig(x: float, digits: int) -> float:
    """``x`` to ``digits`` significant digits (keeps the JSON short)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def _round_to(x: float, step: float) -> float:
    """``x`` rounded to a thousandth of ``step``: far finer than a bin, far shorter than repr."""
    if step <= 0 or not math.isfinite(step) or not math.isfinite(x):
        return x
    return round(x, max(0, 3 - math.floor(math.log10(step))))
