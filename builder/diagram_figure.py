"""The live block diagram: ``diagram_layout`` drawn as a clickable Plotly figure.

A plain stack is drawn as rows of blocks (``reflow`` puts rows side by side to fill the box); a
graph (``Layout.edges``, SPEC.md "Graphs") keeps the DAG layout of ``builder.diagram``: lanes
for parallel branches, merges as small nodes, skip connections arched over the blocks, and the
tensor shape as a label on the edges into merges and where the shape changes. Every block (merges
included) is bars of the first trace with the layer index first in its ``customdata``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import plotly.graph_objects as go

from .diagram import ARROW_HEAD, LINE_HEIGHT, Block, Layout, _sheet_offsets, shape_label, text_width
from .diagram import FONT_SIZE as FONT_SIZE_DIAGRAM
from .diagram import MARGIN as DIAGRAM_MARGIN
from .diagram import ROW_GAP as DIAGRAM_ROW_GAP

SMALL_FONT_SIZE = 14
HIGHLIGHT_COLOR = "#F58518"
ARROW_COLOR = "#8a8a8a"
UNSELECTED_OPACITY = 0.55
FULL_LABEL_SCALE = 0.5  # below this, the names under the blocks would overlap: shapes only
SHAPE_LABEL_SCALE = 0.32  # below this, no text under the blocks (hover tells)
DIAGRAM_TEMPLATE = go.layout.Template(
    layout={
        "font": {"size": SMALL_FONT_SIZE, "family": "Arial, Helvetica, sans-serif"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"t": 4, "b": 4, "l": 4, "r": 4},
        "showlegend": False,
        "dragmode": False,
        "clickmode": "event+select",
        "hovermode": "closest",
        "barmode": "overlay",
        "hoverlabel": {"font": {"size": SMALL_FONT_SIZE}},
    }
)


def diagram_figure(
    layout: Layout,
    selected: int | None = None,
    width_hint: float = 900.0,
    max_height: int = 420,
    min_height: int = 150,
    font_size: int = SMALL_FONT_SIZE - 2,
    narrowest: float | None = None,
) -> go.Figure:
    """The block diagram of ``diagram_layout`` as a clickable Plotly figure.

    The layout's rows are first put side by side where that draws the network larger in a box
    of ``width_hint`` × ``max_height`` pixels (``reflow``).
    Every sheet of a block and every tag is one bar of one trace, with the layer index first in
    its ``customdata``: clicking any part of a block selects that layer (``on_select`` in
    Streamlit), and the selected layer is drawn through the trace's ``selected`` style (the
    other blocks fade) plus an outline. The drawing keeps its proportions (the y axis is
    anchored to the x axis) and leaves the title to the page.

    Args:
        layout: from ``builder.diagram.diagram_layout``.
        selected: the layer index to highlight (1 for the first layer), or None.
        width_hint: the width in pixels the figure is expected to get; with ``max_height`` it
            sets the figure's height and how much text fits under each block.
        max_height: the tallest the figure may be, in pixels.
        min_height: the shortest.
        font_size: pixels of the text under the blocks (larger for a projector).
        narrowest: the least width in pixels the figure may get (default ``width_hint``): the
            text under the blocks is chosen to fit there without overlapping.

    Returns:
        The figure: one bar trace (sheets and tags, back to front), a line trace for the arrows
        and a text trace for the labels under the blocks.
    """
    layout = reflow(layout, width_hint, max_height)
    top = min((b.y - b.depth for b in layout.blocks), default=0.0) - 12
    bottom = max((b.label_y for b in layout.blocks), default=layout.height) + 2 * LINE_HEIGHT
    scale = min(1.0, width_hint / layout.width, max_height / max(bottom - top, 1.0))
    height = round(min(max_height, max(min_height, (bottom - top) * scale)))
    least = min(1.0, (narrowest or width_hint) / layout.width, max_height / (bottom - top))
    label_scale = least * (SMALL_FONT_SIZE - 2) / font_size
    traces = [
        _block_trace(layout, selected),
        _arrow_trace(layout),
        _label_trace(layout, label_scale, font_size),
    ]
    shapes = [
        {
            "type": "rect",
            "x0": _r1(block.x - 5),
            "x1": _r1(block.right + 5),
            "y0": _r1(block.y - block.depth - 5),
            "y1": _r1(block.y + block.height + 5),
            "line": {"color": HIGHLIGHT_COLOR, "width": 3},
        }
        for block in layout.blocks
        if selected is not None and block.index == selected
    ]
    axis = {"visible": False, "fixedrange": True}
    figure = {
        "data": traces,
        "layout": {
            "template": DIAGRAM_TEMPLATE,
            "height": height,
            "shapes": shapes,
            "xaxis": {**axis, "range": [0, _r1(layout.width)]},
            "yaxis": {**axis, "range": [_r1(bottom), _r1(top)], "scaleanchor": "x"},
        },
    }
    # built from plain dicts and not validated property by property (16 ms a rerun for the
    # LeNet, more than the rest of the script): tests/test_app.py validates what it makes
    return go.Figure(figure, _validate=False)


@dataclass(frozen=True)
class _Row:
    """One row of a diagram: its arrows' height (``mid``), extent, blocks and arrows."""

    mid: float
    top: float
    bottom: float
    left: float
    right: float
    blocks: tuple[Block, ...]
    arrows: tuple[tuple[float, float, float, float], ...]


def _rows(layout: Layout) -> list[_Row]:
    """The layout's rows, top to bottom: each block goes to the row whose arrows pass nearest
    its middle (a tag sits on its row's arrow; rows are further apart than any tag stack)."""
    first = [b for b in layout.blocks if b.index == 0]
    mids = sorted({a[1] for a in layout.arrows} | {b.y + b.height / 2 for b in first})
    if not mids:
        return []
    members: dict[float, list[Block]] = {m: [] for m in mids}
    for block in layout.blocks:
        centre = block.y + block.height / 2
        members[min(mids, key=lambda m: abs(m - centre))].append(block)
    rows = []
    for mid in mids:
        blocks = members[mid]
        arrows = tuple(a for a in layout.arrows if a[1] == mid)
        half_labels = [text_width(t) / 2 for b in blocks if b.kind != "tag" for t in b.labels]
        widest = max(half_labels, default=0.0)
        rows.append(
            _Row(
                mid,
                min((b.y - b.depth for b in blocks), default=mid),
                max((b.label_y + LINE_HEIGHT * (len(b.labels) - 1) for b in blocks), default=mid),
                min(
                    [b.x for b in blocks]
                    + [b.label_x - widest for b in blocks]
                    + [a[0] for a in arrows]
                ),
                max(
                    [b.right for b in blocks]
                    + [b.label_x + widest for b in blocks]
                    + [a[2] for a in arrows]
                ),
                tuple(blocks),
                arrows,
            )
        )
    return rows


def reflow(layout: Layout, width_hint: float, max_height: float) -> Layout:
    """The same diagram with its rows put side by side, so many to a line as draws it largest in
    a ``width_hint`` × ``max_height`` box (a deep network wrapped into a tall square becomes a
    wide strip). Blocks, arrows and labels move together; nothing is resized.

    Returns:
        ``layout`` itself when one row per line is already the largest.
    """
    rows = _rows(layout)
    if len(rows) < 2:
        return layout
    best, best_scale = 1, 0.0
    for per_line in range(1, len(rows) + 1):
        lines = [rows[i : i + per_line] for i in range(0, len(rows), per_line)]
        width = max(sum(r.right - r.left for r in line) for line in lines) + 2 * DIAGRAM_MARGIN
        height = sum(_line_height(line) for line in lines)
        scale = min(1.0, width_hint / width, max_height / height)
        if scale > best_scale * 1.02:  # a clearly larger drawing, else fewer rows per line
            best, best_scale = per_line, scale
    if best == 1:
        return layout
    blocks: list[Block] = []
    arrows: list[tuple[float, float, float, float]] = []
    y = rows[0].top
    width = 0.0
    for start in range(0, len(rows), best):
        line = rows[start : start + best]
        mid = y + max(r.mid - r.top for r in line)
        below = max(
            (b.label_y - r.mid for r in line for b in r.blocks if b.kind != "tag"), default=0
        )
        x = DIAGRAM_MARGIN
        for row in line:
            dx, dy = x - row.left, mid - row.mid
            blocks += [
                replace(
                    b,
                    x=b.x + dx,
                    y=b.y + dy,
                    label_x=b.label_x + dx,
                    label_y=b.label_y + dy if b.kind == "tag" else mid + below,  # one baseline
                )
                for b in row.blocks
            ]
            arrows += [(a[0] + dx, a[1] + dy, a[2] + dx, a[3] + dy) for a in row.arrows]
            x += row.right - row.left
        width = max(width, x + DIAGRAM_MARGIN)
        y += _line_height(line)
    blocks.sort(key=lambda b: b.index)
    return Layout(width, y, layout.title, tuple(blocks), tuple(arrows))


def _line_height(line: list[_Row]) -> float:
    return max(r.mid - r.top for r in line) + max(r.bottom - r.mid for r in line) + DIAGRAM_ROW_GAP


def _block_trace(layout: Layout, selected: int | None) -> dict[str, Any]:
    """Every sheet and tag as a bar (x: centre, base: top edge on the reversed y axis). Tags
    carry no text: at the sizes the page draws them their names do not fit (the hover tells)."""
    xs, heights, bases, widths, fills, lines, meta, chosen = ([] for _ in range(8))
    for block in layout.blocks:
        shape = "" if block.kind == "tag" else shape_label(block.shape)
        for offset in _sheet_offsets(block):
            if block.index == selected:
                chosen.append(len(meta))
            xs.append(_r1(block.x + offset + block.width / 2))
            bases.append(_r1(block.y - offset))
            heights.append(_r1(block.height))
            widths.append(_r1(block.width))
            fills.append(block.fill)
            lines.append(block.stroke)
            meta.append([block.index, block.name, block.type, shape])
    trace = {
        "type": "bar",
        "x": xs,
        "y": heights,
        "base": bases,
        "width": widths,
        "customdata": meta,
        "marker": {"color": fills, "line": {"color": lines, "width": 1.5}},
        "hovertemplate": "%{customdata[1]} (%{customdata[2]}) %{customdata[3]}<extra></extra>",
        "selected": {"marker": {"opacity": 1.0}},
        "unselected": {"marker": {"opacity": UNSELECTED_OPACITY}},
        "name": "layers",
    }
    if selected is not None:
        trace["selectedpoints"] = chosen
    return trace


def _arrow_trace(layout: Layout) -> dict[str, Any]:
    """All arrows as one line trace: shafts and heads separated by gaps (None)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for x1, y1, x2, y2 in layout.arrows:
        xs += [_r1(x1), _r1(x2), None, _r1(x2 - ARROW_HEAD), _r1(x2), _r1(x2 - ARROW_HEAD), None]
        head = ARROW_HEAD / 2
        ys += [_r1(y1), _r1(y2), None, _r1(y2 - head), _r1(y2), _r1(y2 + head), None]
    return {
        "type": "scatter",
        "x": xs,
        "y": ys,
        "mode": "lines",
        "line": {"color": ARROW_COLOR, "width": 2},
        "hoverinfo": "skip",
    }


def _label_trace(layout: Layout, scale: float, size: int) -> dict[str, Any]:
    """Name and shape under each block: both where the drawing is large enough, the shape alone
    where it is small, none where even that would overlap (the hover still tells)."""
    blocks = [b for b in layout.blocks if b.kind != "tag"]
    texts = []
    for block in blocks:
        shape = shape_label(block.shape)
        if scale >= FULL_LABEL_SCALE:
            texts.append(f"<b>{_html(block.name)}</b><br>{_html(shape)}")
        elif scale >= SHAPE_LABEL_SCALE:
            texts.append(_html(shape))
        else:
            texts.append("")
    return {
        "type": "scatter",
        "x": [_r1(b.label_x) for b in blocks],
        "y": [_r1(b.label_y - FONT_SIZE_DIAGRAM) for b in blocks],
        "mode": "text",
        "text": texts,
        "textposition": "bottom center",
        "textfont": {"size": size},
        "hoverinfo": "skip",
    }


def _html(text: str) -> str:
    """User text made inert in Plotly's HTML-like labels."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _r1(x: float) -> float:
    return round(x, 1)
