"""Receptive field and feature-map size per layer: the standard recurrence, per axis.

For each layer, along each axis: ``size`` is the feature map's size (from the analysis),
``rf`` how many input pixels one unit sees, ``jump`` how many input pixels apart two
neighbouring units are (the product of the strides so far), and ``start`` the input position
(in pixels, the first input pixel's centre being 0) of the first unit's centre. A layer with
kernel ``k``, stride ``s``, dilation ``d`` and left padding ``p`` has effective kernel
``k' = d·(k − 1) + 1`` and::

    rf_out    = rf_in + (k' − 1) · jump_in
    jump_out  = jump_in · s
    start_out = start_in + ((k' − 1) / 2 − p) · jump_in

Unit ``i`` then sees input pixels ``start + i·jump ± (rf − 1) / 2`` (clipped to the image: the
recurrence counts padding as if it were image, so ``rf`` may exceed the image size).

- ``Conv2d``: ``padding="same"`` pads ``d·(k − 1) // 2`` on the left (as torch does),
  ``"valid"`` pads 0.
- ``MaxPool2d`` / ``AvgPool2d``: stride defaults to the kernel; ``ceil_mode`` changes only the
  size. ``AvgPool2d`` has no dilation.
- ``AdaptiveAvgPool2d`` / ``AdaptiveMaxPool2d`` from ``I`` to ``O`` use torch's windows
  ``[floor(i·I/O), ceil((i + 1)·I/O))``. When ``O`` divides ``I`` that is exactly a pool with
  kernel = stride = ``I/O`` (``O = 1``: the whole input). Otherwise the windows differ in length
  and position, and the record is an approximation (``exact`` False): ``rf`` is the largest
  window's (an upper bound), ``jump`` the average stride ``I/O`` (a float), ``start`` the first
  window's centre; positions are then right to within a pixel. The largest window has a closed
  form (``largest_adaptive_window``), so an output of 2³¹ − 1 costs no more than one of 2.
- ``ConvTranspose2d`` (kernel ``k``, stride ``s``, padding ``p``, dilation ``d``): output unit
  ``o`` gathers input ``i`` through tap ``j`` where ``o = i·s − p + j·d``, i.e. the inputs in
  ``[(o + p − d·(k − 1)) / s, (o + p) / s]``: ``jump_out = jump_in / s``, ``rf_out = rf_in +
  d·(k − 1)/s · jump_in``, ``start_out = start_in + (p − d·(k − 1)/2)/s · jump_in``. The ends
  fall between pixels; the pixels seen are the whole ones inside. Exact with dilation 1 and
  ``k >= s``, on an input whose units are at most a pixel apart (``jump_in <= 1``) or with
  stride 1; otherwise some units fall between the taps, or the ends between input units map
  onto pixels no unit reaches (a pool, then an upsampling ``ConvTranspose2d``: a U-Net), and
  the interval is an upper bound (``exact`` False). The registry's ``footprint`` holds these
  per-axis numbers.
- ``Upsample``: output ``o`` samples the input at ``(o + ½)·r − ½`` (``r = 1/scale_factor``, or
  ``I/O`` given ``size``; ``o·(I − 1)/(O − 1)`` with ``align_corners``) and reads 1 (nearest),
  2 (linear) or 4 (bicubic) pixels per axis around it: the interval holds them all but is wider
  than most units need, an upper bound (``exact`` False). ``ZeroPad2d`` is a one-pixel window
  whose padding moves the first unit (negative padding crops): exact.
- Sequences ``[C, L]`` run the same recurrence on their one axis (every per-axis field has one
  entry); 1-d convolutions and pools have windows like their 2-d kin.
- ``Flatten`` (anything that leaves ``[C, H, W]`` / ``[C, L]``), ``Linear`` and whatever
  follows: every unit sees the whole input (``whole_input`` True; ``rf`` is the image size, or
  the receptive field so far if that is larger; no size, jump or start).
- ``padding_mode``: ``"circular"`` (with any padding) wraps border units around to the far
  side, and ``"reflect"`` with padding over half the kernel mirrors in pixels from beyond the
  window: ``exact`` is then False (the interval is right away from the borders).
- Every other layer (activations, BatchNorm, Dropout, Identity) passes the record through.
- Graphs (SPEC.md "Graphs"): each layer starts from the record of the value it reads, so a
  receptive field is the largest over every path to it. A merge's unit sees the union of what
  the units it reads see: ``Add``, and ``Concat`` along channels, read the same position of every
  input, so the record is the hull of the inputs' intervals (Inception's concatenation of 1×1,
  3×3 and 5×5 branches sees 5×5). It is exact when the inputs share one jump and their
  intervals overlap or touch (the union is then one interval), so e.g. a residual block with a
  strided shortcut stays exact. Inputs of different jumps, or a ``Concat`` along a spatial axis
  (its inputs end to end), get the narrowest band ``start + i·jump ± (rf − 1)/2`` that holds
  every unit's interval: an upper bound (``exact`` False).

The recurrence runs in exact rational arithmetic (``Fraction``), so no float noise builds up and
no value overflows however large the strides (200 layers of stride 2³¹ − 1 give a jump of about
10¹⁸⁶⁶); a record holds ints where the value is whole, floats otherwise (ints again beyond 2⁵³,
where a float has no fraction left to show).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import plotly.graph_objects as go

from .analysis import analyze
from .figures import FONT_SIZE, PLAN_COLORS, SMALL_FONT_SIZE, TEMPLATE
from .formatting import shape_text
from .layers import REGISTRY, Footprint, Window
from .messages import N_, Translator, localize
from .spec import INPUT, Spec, load_spec

Pair = tuple[float, float]
Axis = tuple[Fraction, Fraction, Fraction]
"""The exact ``(rf, jump, start)`` along one axis, as the recurrence carries it."""


@dataclass(frozen=True)
class RFRecord:
    """One row: the input (index 0) or the output of the k-th layer (index k).

    Attributes:
        index: 0 for the input, k for the k-th layer.
        name: ``"input"`` or the layer's name.
        type: ``"Input"`` or the layer's class name.
        output_shape: the per-sample shape (None after an analysis error).
        size: ``(H, W)`` of the feature map (``(L,)`` for a sequence ``[C, L]``: every
            per-axis field has one entry per spatial axis), or None for a flat output.
        rf: ``(rf_h, rf_w)`` in input pixels, or None (flat input, or after an error).
        jump: ``(jump_h, jump_w)``: input pixels between neighbouring units, or None.
        start: ``(start_h, start_w)``: the first unit's centre in input pixels, or None.
        exact: False after an adaptive pool whose output size does not divide its input's.
        whole_input: every unit sees the whole input (after Flatten / Linear).
        inputs: the names of the values the layer reads (SPEC.md "Graphs"); () for the input.
    """

    index: int
    name: str
    type: str
    output_shape: tuple[int, ...] | None
    size: tuple[int, int] | None
    rf: Pair | None
    jump: Pair | None
    start: Pair | None
    exact: bool = True
    whole_input: bool = False
    inputs: tuple[str, ...] = ()

    def interval(self, i: int, axis: int = 0) -> tuple[float, float]:
        """The input pixels (first, last) unit ``i`` sees along ``axis`` (0: H, 1: W), before
        clipping to the image."""
        if self.rf is None or self.jump is None or self.start is None:
            raise ValueError(f"{self.name} has no spatial receptive field")
        # exact: a huge int start plus a float offset would not fit a float
        centre = Fraction(self.start[axis]) + Fraction(i) * Fraction(self.jump[axis])
        half = (Fraction(self.rf[axis]) - 1) / 2
        return _value(centre - half), _value(centre + half)


def receptive_field(spec: Any) -> list[RFRecord]:
    """The receptive field and feature-map size after every layer (see the module docstring).

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.

    Returns:
        The input's record (index 0), then one per layer. For a flat ``[F]`` input the spatial
        fields are None; after an analysis error, everything but the names is None.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    analysis = analyze(spec)
    sizes = tuple(spec.input_shape[1:])
    spatial = len(sizes) > 0
    one, zero = Fraction(1), Fraction(0)
    ones, zeros = (1,) * len(sizes), (0,) * len(sizes)
    first = RFRecord(
        0,
        "input",
        "Input",
        spec.input_shape,
        sizes if spatial else None,
        ones if spatial else None,
        ones if spatial else None,
        zeros if spatial else None,
    )
    records = [first]
    # per value (the input, each layer's output): its record and the exact state per axis (the
    # records hold it rounded for display, ``_value``); None where there is no spatial field
    found: dict[str, tuple[RFRecord, list[Axis] | None]] = {
        INPUT: (first, [(one, one, zero)] * len(sizes) if spatial else None)
    }
    last_read = {name: index for index, layer in enumerate(spec.layers) for name in layer.inputs}
    for index, (layer, row) in enumerate(zip(spec.layers, analysis.layers)):
        ins = [found[name] for name in layer.inputs]
        record, state = _layer_record(layer, row, ins, len(spec.input_shape), sizes)
        records.append(record)
        found[layer.name] = (record, state)
        for name in layer.inputs:  # a state nothing reads again is let go (they can be large)
            if last_read[name] == index:
                found.pop(name, None)
    return records


def _layer_record(
    layer: Any,
    row: Any,
    ins: list[tuple[RFRecord, list[Axis] | None]],
    rank: int,
    sizes: tuple[int, ...],
) -> tuple[RFRecord, list[Axis] | None]:
    """One layer's record from its inputs' records and exact states."""
    index, out = row.index + 1, row.output_shape
    names = (index, layer.name, layer.type, out)
    inputs = tuple(layer.inputs)
    if out is None or any(state is None for _, state in ins):  # an error, or a flat input
        return RFRecord(*names, None, None, None, None, inputs=inputs), None
    exact = all(record.exact for record, _ in ins)
    if len(out) != rank or any(record.whole_input for record, _ in ins):
        rf = tuple(
            max(max(record.rf[axis] for record, _ in ins), size) for axis, size in enumerate(sizes)
        )
        record = RFRecord(*names, None, rf, None, None, exact, True, inputs)
        return record, ins[0][1]
    if layer.entry.merge:
        state, exact = _merge_step(layer, row, [state for _, state in ins], exact)
    else:
        state, exact = _layer_step(layer, row, ins[0][1], exact)
    rf, jump, start = (tuple(_value(axis[k]) for axis in state) for k in range(3))
    return RFRecord(*names, tuple(out[1:]), rf, jump, start, exact, inputs=inputs), state


def _merge_step(
    layer: Any, row: Any, states: list[list[Axis]], exact: bool
) -> tuple[list[Axis], bool]:
    """A merge's effect on every spatial axis: each output unit sees the union of what the
    units it reads see. ``Add``, and ``Concat`` along channels, read the unit at the same
    position of every input: the hull of their intervals, exact where the inputs move in step
    (one jump) and their intervals overlap or touch (the union is then an interval). A
    ``Concat`` along a spatial axis lays its inputs end to end there; that, and inputs whose
    jumps differ, take the narrowest band ``start + i·jump ± (rf − 1)/2`` holding every unit's
    interval: an upper bound (``exact`` False)."""
    joined = None
    if layer.type == "Concat":
        axis = layer.resolved()["dim"] % (len(row.output_shape) + 1) - 1
        joined = axis - 1 if axis >= 1 else None  # a spatial axis, or None for the channels
    result = []
    for axis in range(len(states[0])):
        offsets = [0] * len(states)
        if axis == joined:
            lengths = [shape[axis + 1] for shape in row.input_shapes]
            offsets = [sum(lengths[:k]) for k in range(len(lengths))]
        else:
            lengths = [row.output_shape[axis + 1]] * len(states)
        pieces = [(off, n, *state[axis]) for off, n, state in zip(offsets, lengths, states)]
        axis_state, axis_exact = _hull(pieces, aligned=axis != joined)
        result.append(axis_state)
        exact = exact and axis_exact
    return result, exact


def _hull(
    pieces: list[tuple[int, int, Fraction, Fraction, Fraction]], aligned: bool
) -> tuple[Axis, bool]:
    """The ``(rf, jump, start)`` whose intervals hold every piece's along one axis, and whether
    they are exactly the pieces' union. A piece ``(offset, count, rf, jump, start)``: output
    units ``offset .. offset + count − 1`` are the input's units ``0 .. count − 1``."""
    ends = [(start - (rf - 1) / 2, start + (rf - 1) / 2) for _, _, rf, _, start in pieces]
    jumps = {jump for _, _, _, jump, _ in pieces}
    if aligned and len(jumps) == 1:
        (jump,) = jumps
        low, high = min(lo for lo, _ in ends), max(hi for _, hi in ends)
        # whole pixels that touch join up; ends between pixels must overlap
        whole = jump.denominator == 1 and all(e.denominator == 1 for end in ends for e in end)
        reach, contiguous = None, True
        for lo, hi in sorted(ends):
            if reach is not None and lo > reach + (1 if whole else 0):
                contiguous = False
            reach = hi if reach is None else max(reach, hi)
        return (high - low + 1, jump, (low + high) / 2), contiguous
    # unit k = offset + t sees [lo + jump·t, hi + jump·t]: a band over the units' end points
    points = []
    for (offset, count, _, jump, _), (lo, hi) in zip(pieces, ends):
        for t in {0, count - 1}:
            points.append((Fraction(offset + t), lo + jump * t, hi + jump * t))
    candidates = sorted(jumps)
    first, last = min(points), max(points)
    if last[0] > first[0]:
        candidates.append((last[1] - first[1]) / (last[0] - first[0]))
    best = None
    for jump in candidates:
        low = min(lo - jump * k for k, lo, _ in points)
        high = max(hi - jump * k for k, _, hi in points)
        if best is None or high - low < best[1] - best[0]:
            best = (low, high, jump)
    low, high, jump = best
    return (high - low + 1, jump, (low + high) / 2), False


def _layer_step(layer: Any, row: Any, state: list[Axis], exact: bool) -> tuple[list[Axis], bool]:
    """One layer's effect on every spatial axis, from its registry entry: windows (convolutions,
    pools, padding), an adaptive pool, a footprint (transposed convolution, Upsample), or none
    (the record passes through)."""
    entry = layer.entry
    args = layer.resolved()
    in_size = tuple(row.input_shape[1:])
    out_size = tuple(row.output_shape[1:])
    if entry.windows is not None:  # the registry's geometry: torch's defaults applied once
        windows = entry.windows(args)
        state = [
            _step(*state[axis], w.kernel, w.stride, w.dilation, w.pad_left)
            for axis, w in enumerate(windows)
        ]
        return state, exact and _padding_is_plain(args, windows)
    if entry.adaptive:
        state = [
            _adaptive_step(*axis_state, i, o) for axis_state, i, o in zip(state, in_size, out_size)
        ]
        return state, exact and all(i % o == 0 for i, o in zip(in_size, out_size))
    if entry.footprint is not None:
        prints = entry.footprint(args, in_size, out_size)
        aligned = all(
            _gathers_whole_pixels(*s, f, size) for s, f, size in zip(state, prints, out_size)
        )
        state = [_footprint_step(*s, f) for s, f in zip(state, prints)]
        return state, exact and aligned and all(f.exact for f in prints)
    return state, exact


def _footprint_step(
    rf_in: Fraction, jump_in: Fraction, start_in: Fraction, footprint: Footprint
) -> Axis:
    """The recurrence for a layer that resamples (``Footprint``)."""
    return (
        rf_in + footprint.span * jump_in,
        jump_in * footprint.factor,
        start_in + footprint.offset * jump_in,
    )


MAX_FOOTPRINT_PERIOD = 4096
"""Output units checked by ``_gathers_whole_pixels`` at most (its pattern repeats sooner in
any design a lesson uses; a longer one is left flagged as an upper bound)."""


def _gathers_whole_pixels(
    rf_in: Fraction, jump_in: Fraction, start_in: Fraction, footprint: Footprint, out_size: int
) -> bool:
    """Whether a resampling layer's intervals stay exact: output ``o`` gathers the whole input
    units in ``[a, b]`` (``a, b = offset + o·factor ∓ span/2``, in input units), so it sees the
    pixels of units ``ceil(a) .. floor(b)``, while the recurrence's interval runs from ``a`` to
    ``b`` mapped to pixels. The two hold the same whole pixels unless input units lie more than
    a pixel apart, or off the pixel grid (a pool, then an upsampling: a U-Net's decoder). The
    pattern repeats every ``factor``'s × ``jump_in``'s denominators units: those are checked."""
    if not footprint.exact:
        return True  # flagged already
    low, high = start_in - (rf_in - 1) / 2, start_in + (rf_in - 1) / 2
    if jump_in == 1 and low.denominator == high.denominator == 1:
        return True  # on the pixel grid: ceil(low + a) = low + ceil(a), and so for b
    period = footprint.factor.denominator * jump_in.denominator
    if period > MAX_FOOTPRINT_PERIOD:
        return False
    for o in range(min(out_size, period)):
        centre = footprint.offset + o * footprint.factor
        a, b = centre - footprint.span / 2, centre + footprint.span / 2
        if math.ceil(low + jump_in * a) != math.ceil(low + jump_in * math.ceil(a)):
            return False
        if math.floor(high + jump_in * b) != math.floor(high + jump_in * math.floor(b)):
            return False
    return True


def _padding_is_plain(args: dict[str, Any], windows: tuple[Window, ...]) -> bool:
    """Whether the padded border adds no input pixel outside each unit's interval: zeros and
    replicate padding never do; reflect does when the padding reaches further than half the
    kernel (it mirrors pixels from beyond the window); circular wraps to the other side."""
    mode = args.get("padding_mode", "zeros")
    if mode not in ("circular", "reflect"):
        return True
    for win in windows:
        reach = win.reach - 1
        widest = max(win.pad_left, win.pad_right)
        if widest and (mode == "circular" or 2 * widest > reach):
            return False
    return True


def _step(
    rf_in: Fraction,
    jump_in: Fraction,
    start_in: Fraction,
    kernel: int,
    stride: int | Fraction,
    dilation: int = 1,
    left: int = 0,
) -> Axis:
    """The recurrence for one windowed layer along one axis: ``(rf, jump, start)``."""
    reach = dilation * (kernel - 1)  # k' − 1
    rf = rf_in + reach * jump_in
    start = start_in + (Fraction(reach, 2) - left) * jump_in
    return rf, jump_in * stride, start


def largest_adaptive_window(in_size: int, out_size: int) -> int:
    """The longest of torch's adaptive-pool windows ``[floor(i·I/O), ceil((i + 1)·I/O))``,
    ``0 <= i < O``, without listing them.

    With ``g = gcd(I, O)``, ``a = I/g``, ``b = O/g`` and ``r = i·a mod b``, window ``i`` is
    ``ceil((r + a)/b)`` long; as ``i`` runs over ``0 .. b − 1`` (``b <= O``), ``r`` takes every
    value ``0 .. b − 1`` (``a`` and ``b`` are coprime), so the longest is ``ceil((a + b − 1)/b)``
    (``I/O`` when ``O`` divides ``I``; 1 or 2 when ``O > I``).

    Args:
        in_size: ``I >= 1``, the input's size along the axis.
        out_size: ``O >= 1``, the output's.

    Returns:
        The length in pixels of the longest window.
    """
    g = math.gcd(in_size, out_size)
    a, b = in_size // g, out_size // g
    return -(-(a + b - 1) // b)


def _adaptive_step(
    rf_in: Fraction, jump_in: Fraction, start_in: Fraction, in_size: int, out_size: int
) -> Axis:
    """An adaptive pool from ``in_size`` to ``out_size`` along one axis (module docstring): the
    largest window, the average stride ``I/O`` and the first window ``[0, ceil(I/O))``'s centre.
    When ``O`` divides ``I`` this is exactly ``_step`` with kernel = stride = ``I/O``."""
    largest = largest_adaptive_window(in_size, out_size)
    first_end = -(-in_size // out_size)
    rf = rf_in + (largest - 1) * jump_in
    start = start_in + Fraction(first_end - 1, 2) * jump_in
    return rf, jump_in * Fraction(in_size, out_size), start


def _value(x: Fraction) -> float:
    """An exact value for a record: an int where it is whole or beyond 2⁵³ (a float there has
    no fraction left, and beyond 10³⁰⁸ none at all), else the nearest float."""
    if x.denominator == 1:
        return x.numerator
    if abs(x) >= 2**53:
        return round(x)
    return float(x)


# --- figure --------------------------------------------------------------------------------------


_NOTE = {
    "showarrow": False,
    "font": {"size": FONT_SIZE},
    "x": 0.5,
    "y": 0.5,
    "xref": "paper",
    "yref": "paper",
}
"""Where the figure's note sits when it has no data (the middle of the plot)."""
_NO_SPATIAL = N_("no spatial input: a receptive field needs an input_shape [C, H, W] or [C, L]")


def receptive_field_figure(
    records: Sequence[RFRecord],
    title: str | None = None,
    height: int = 560,
    translate: Translator | None = None,
) -> go.Figure:
    """Receptive field and feature-map size per layer, one chart for a classroom.

    Bars: the feature map's size (H; hover shows H×W and the channels); line: the receptive field
    (rf_h) in input pixels, with a dotted line at the image height. Layers that pass the record
    through (activations, BatchNorm, ...) are left out so the bars are the stages that change it.

    Args:
        records: from ``receptive_field``.
        title: the figure title.
        height: pixels.
        translate: message id -> the reader's template (``builder.messages.localize``);
            English by default.

    Returns:
        The figure (with a note instead of data for a flat input or a failed analysis).
    """
    fig = go.Figure(layout={"template": TEMPLATE, "height": height})
    shown = _stages(records)
    spatial = [r for r in shown if r.rf is not None]
    title = title or localize(translate, N_("Receptive field and feature-map size per layer"))
    if not spatial:
        fig.add_annotation(text=localize(translate, _NO_SPATIAL), **_NOTE)
        fig.update_layout(title={"text": title})
        return fig
    names = [r.name for r in spatial]
    sequence = spatial[0].size is not None and len(spatial[0].size) == 1
    sizes = [r.size[0] if r.size is not None else None for r in spatial]
    fig.add_trace(
        go.Bar(
            x=names,
            y=sizes,
            name=localize(translate, N_("feature map (L)") if sequence else N_("feature map (H)")),
            marker={"color": PLAN_COLORS[1]},
            customdata=[[shape_text(r.output_shape, sep="×", brackets=False)] for r in spatial],
            hovertemplate="%{x}: %{customdata[0]}<extra>"
            + localize(translate, N_("feature map"))
            + "</extra>",
            text=[_size_text(r) for r in spatial],
            textposition="outside",
            textfont={"size": SMALL_FONT_SIZE},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[_plot_value(r.rf[0]) for r in spatial if r.rf is not None],
            name=localize(translate, N_("receptive field (pixels)")),
            mode="lines+markers",
            line={"color": PLAN_COLORS[0], "width": 4},
            marker={"size": 11},
            customdata=[[_rf_text(r)] for r in spatial],
            hovertemplate="%{x}: %{customdata[0]}<extra>"
            + localize(translate, N_("receptive field"))
            + "</extra>",
        )
    )
    image_h = spatial[0].size[0] if spatial[0].size is not None else None
    if image_h is not None:
        fig.add_hline(
            y=image_h,
            line={"dash": "dot", "color": "#888", "width": 2},
            annotation_text=localize(
                translate,
                N_("sequence length {size}") if sequence else N_("image height {size}"),
                size=image_h,
            ),
            annotation_position="top left",
            annotation_font_size=SMALL_FONT_SIZE,
        )
    approx = any(not r.exact for r in spatial)
    fig.update_layout(
        title={
            "text": title,
            "subtitle": {
                "text": _rf_subtitle(sequence, approx, translate),
                "font": {"size": SMALL_FONT_SIZE + 2},
            },
        },
        xaxis={
            "title": localize(translate, N_("layer")),
            "tickangle": -45,
            "tickfont": {"size": SMALL_FONT_SIZE},
        },
        yaxis={"title": localize(translate, N_("pixels")), "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.35, "yanchor": "top", "x": 0.5, "xanchor": "center"},
        margin={"t": 110, "b": 160, "l": 80, "r": 30},
        bargap=0.3,
    )
    return fig


def _rf_subtitle(sequence: bool, approx: bool, translate: Translator | None) -> str:
    """What the bars and the line of the receptive-field figure show."""
    text = localize(
        translate,
        N_("bars: feature-map length · line: how many input pixels one unit sees")
        if sequence
        else N_("bars: feature-map height · line: how many input pixels one unit sees"),
    )
    if approx:
        text += localize(
            translate, N_(" · ≈ an upper bound (a non-dividing adaptive pool, Upsample)")
        )
    return text


def _stages(records: Sequence[RFRecord]) -> list[RFRecord]:
    """The records the figure shows: the input, the layers that change the receptive field
    (windows, adaptive pools, resampling, merges), the first to see the whole input, and any
    without a field."""
    by_name = {r.name: r for r in records}
    return [
        r
        for r in records
        if r.index == 0
        or r.rf is None
        or REGISTRY[r.type].windows is not None
        or REGISTRY[r.type].adaptive
        or REGISTRY[r.type].footprint is not None
        or REGISTRY[r.type].merge
        or (r.whole_input and not all(by_name[n].whole_input for n in r.inputs))
    ]


def _size_text(record: RFRecord) -> str:
    if record.size is None:
        return "flat"
    return "×".join(str(s) for s in record.size)


def _rf_text(record: RFRecord) -> str:
    if record.rf is None:
        return "—"
    text = f"{'×'.join(_num(r) for r in record.rf)} pixels"
    if record.whole_input:
        return text + " (the whole input)"
    if record.jump is not None:
        text += f", jump {'×'.join(_num(j) for j in record.jump)}"
    return text + ("" if record.exact else " (approx.)")


def _num(x: float) -> str:
    """Whole numbers in full up to 15 digits, then like ``2.15e+1866``; others to 3 digits."""
    if not isinstance(x, int):
        return f"{x:.3g}"
    if abs(x) < 10**15:
        return str(x)
    digits = str(abs(x)) if x.bit_length() < 12_000 else None  # ≈ 3,600 digits: str()'s limit
    if digits is None:  # out of reach for a design within the limits; kept safe all the same
        return f"{'-' if x < 0 else ''}about 2^{x.bit_length() - 1}"
    mantissa = round(int(digits[:4]) / 1000, 2)
    exponent = len(digits) - 1 + (mantissa >= 10)
    mantissa = mantissa / 10 if mantissa >= 10 else mantissa
    return f"{'-' if x < 0 else ''}{mantissa:.2f}e+{exponent}"


def _plot_value(x: float) -> float | None:
    """A receptive field as a plotted number: a float (JSON and plotly take no huge ints);
    None beyond a float's range (not drawn; the hover text keeps the value)."""
    try:
        return float(x)
    except OverflowError:
        return None
