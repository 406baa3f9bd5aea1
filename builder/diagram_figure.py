"""The live block diagram: ``diagram_layout`` drawn as a clickable Plotly figure.

A plain stack is drawn as rows of blocks (``reflow`` puts rows side by side to fill the box); a
graph (``Layout.edges``, SPEC.md "Graphs") keeps the DAG layout of ``builder.diagram``: lanes
for parallel branches, merges as small nodes, skip connections arched over the blocks, and the
tensor shape as a label on the edges into merges and where the shape changes. Every block (merges
included) is bars of the first trace with the layer index first in its ``customdata``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import plotly.graph_objects as go

from .diagram import (
    ARROW_HEAD,
    COLORS,
    EDGE_FONT,
    GRAPH_FONT,
    LINE_HEIGHT,
    MARGIN,
    MAX_ROW_WIDTH,
    MERGE_SYMBOLS,
    PASS_THROUGH,
    TITLE_HEIGHT,
    UNKNOWN_SIDE,
    Block,
    Edge,
    Layout,
    _balanced_rows,
    _sheet_offsets,
    block_size,
    shape_label,
    text_width,
)
from .diagram import FONT_SIZE as FONT_SIZE_DIAGRAM
from .diagram import MARGIN as DIAGRAM_MARGIN
from .diagram import ROW_GAP as DIAGRAM_ROW_GAP
from .layers import REGISTRY

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

    A graph (``layout.edges``) is drawn as laid out (no ``reflow``): its edges are one line
    trace with the arrow heads, then a text trace for the names under the blocks and the merges'
    symbols, and one for the shapes on the edges; names and shapes show only where the drawing
    is large enough for them not to overlap.

    Returns:
        The figure: one bar trace (sheets and tags, back to front), a line trace for the arrows
        and a text trace for the labels under the blocks.
    """
    graph = bool(layout.edges)
    layout = (reflow_graph if graph else reflow)(layout, width_hint, max_height)
    top = min((b.y - b.depth for b in layout.blocks), default=0.0) - 12
    bottom = max((b.label_y for b in layout.blocks), default=layout.height) + 2 * LINE_HEIGHT
    if graph:
        ys = [y for edge in layout.edges for _, y in edge.points]
        top = min(top, min(ys) - 12)
        bottom = max(ys + [b.label_y + 6 for b in layout.blocks])
    scale = min(1.0, width_hint / layout.width, max_height / max(bottom - top, 1.0))
    height = round(min(max_height, max(min_height, (bottom - top) * scale)))
    least = min(1.0, (narrowest or width_hint) / layout.width, max_height / (bottom - top))
    label_scale = least * (SMALL_FONT_SIZE - 2) / font_size
    if graph:
        traces = [_block_trace(layout, selected), *_graph_traces(layout, least, font_size)]
    else:
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


def reflow_graph(layout: Layout, width_hint: float, max_height: float) -> Layout:
    """A graph's bands put side by side, so many to a line as draws it largest in a
    ``width_hint`` × ``max_height`` box; the edges from one band into the next are routed anew.

    Returns:
        ``layout`` itself when one band per line is already the largest.
    """
    spans = layout.bands
    best, best_scale = 1, 0.0
    for per_line in range(1, len(spans) + 1):
        lines = [spans[i : i + per_line] for i in range(0, len(spans), per_line)]
        width = max(sum(s[2] - DIAGRAM_MARGIN for s in line) for line in lines) + DIAGRAM_MARGIN
        height = sum(max(s[1] - s[0] for s in line) + DIAGRAM_ROW_GAP for line in lines)
        scale = min(1.0, width_hint / width, max_height / height)
        if scale > best_scale * 1.02:  # a clearly larger drawing, else fewer bands per line
            best, best_scale = per_line, scale
    if best == 1:
        return layout
    shift, line_bottom, new_spans = [], [], []
    y, width = spans[0][0], 0.0
    for start in range(0, len(spans), best):
        line = spans[start : start + best]
        x = 0.0
        for top, bottom, right in line:
            shift.append((x, y - top))
            new_spans.append((y, y + bottom - top, x + right))
            x += right - DIAGRAM_MARGIN
        width = max(width, x + DIAGRAM_MARGIN)
        y += max(s[1] - s[0] for s in line)
        line_bottom += [y] * len(line)
        y += DIAGRAM_ROW_GAP

    def band(block: Block) -> int:
        centre = block.y + block.height / 2
        return next(k for k, s in enumerate(spans) if centre <= s[1] + 1e-6)

    band_of = {b.index: band(b) for b in layout.blocks}
    blocks = [
        replace(b, x=b.x + shift[k][0], y=b.y + shift[k][1], label_x=b.label_x + shift[k][0],
                label_y=b.label_y + shift[k][1])
        for b in layout.blocks
        for k in [band_of[b.index]]
    ]  # fmt: skip
    edges = []
    for edge in layout.edges:
        (dx, dy), (tx_, ty_) = shift[band_of[edge.source]], shift[band_of[edge.target]]
        points = [(x + dx, y + dy) for x, y in edge.points]
        if band_of[edge.source] != band_of[edge.target]:  # its label sits where it enters
            (sx, sy), (tx, ty) = points[0], (edge.points[-1][0] + tx_, edge.points[-1][1] + ty_)
            path = [(sx, sy), (sx + 10, sy)]
            if line_bottom[band_of[edge.source]] != line_bottom[band_of[edge.target]]:
                down = line_bottom[band_of[edge.source]] + DIAGRAM_ROW_GAP / 2
                path += [(sx + 10, down), (tx_ + DIAGRAM_MARGIN / 2, down)]
                path.append((tx_ + DIAGRAM_MARGIN / 2, ty))
            else:
                path.append((sx + 10, ty))
            points = _rounded([*path, (tx, ty)])
            dx, dy = tx_, ty_
        edges.append(
            replace(edge, points=tuple((_r1(x), _r1(y)) for x, y in points),
                    label_x=_r1(edge.label_x + dx), label_y=_r1(edge.label_y + dy))
        )  # fmt: skip
    blocks.sort(key=lambda b: b.index)
    return Layout(width, y - DIAGRAM_ROW_GAP + DIAGRAM_MARGIN, layout.title, tuple(blocks), (),
                  tuple(edges), tuple(new_spans))  # fmt: skip


def _graph_traces(layout: Layout, least: float, size: int) -> list[dict[str, Any]]:
    """A graph's edges (one line trace, heads included), the names under its blocks with the
    merges' symbols, and the shapes on its edges."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    head = ARROW_HEAD * 0.75
    for edge in layout.edges:
        xs += [p[0] for p in edge.points] + [None]
        ys += [p[1] for p in edge.points] + [None]
        x2, y2 = edge.points[-1]
        xs += [_r1(x2 - head), x2, _r1(x2 - head), None]
        ys += [_r1(y2 - head / 2), y2, _r1(y2 + head / 2), None]
    lines = {
        "type": "scatter",
        "x": xs,
        "y": ys,
        "mode": "lines",
        "line": {"color": ARROW_COLOR, "width": 1.5},
        "hoverinfo": "skip",
    }
    names = least * GRAPH_FONT / size >= GRAPH_LABEL_SCALE
    texts, tx, ty, where = [], [], [], []
    for block in layout.blocks:
        if block.kind == "merge":
            texts.append(MERGE_SYMBOLS.get(block.type, _html(block.type)))
            tx.append(_r1(block.x + block.width / 2))
            ty.append(_r1(block.y + block.height / 2))
            where.append("middle center")
        if names:
            texts.append(_html(block.name))
            tx.append(_r1(block.label_x))
            ty.append(_r1(block.label_y - GRAPH_FONT))
            where.append("bottom center")
    text = {
        "type": "scatter",
        "x": tx,
        "y": ty,
        "mode": "text",
        "text": texts,
        "textposition": where,
        "textfont": {"size": size},
        "hoverinfo": "skip",
    }
    shown = [e for e in layout.edges if e.label and least * EDGE_FONT / size >= GRAPH_LABEL_SCALE]
    shapes = {
        "type": "scatter",
        "x": [e.label_x for e in shown],
        "y": [e.label_y for e in shown],
        "mode": "text",
        "text": [e.label for e in shown],
        "textposition": "top center",
        "textfont": {"size": max(8, size - 2), "color": "#555"},
        "hoverinfo": "skip",
    }
    return [lines, text, shapes]


def _html(text: str) -> str:
    """User text made inert in Plotly's HTML-like labels."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _r1(x: float) -> float:
    return round(x, 1)


# --- a graph's layout (SPEC.md "Graphs"), shared by this figure and the SVG/PNG export -----------

GRAPH_SCALE = 0.5  # blocks at half the stack's size: a ResNet-18 stays legible
PASS_WIDTH, PASS_HEIGHT = 10.0, 30.0  # a shape-keeping layer: a thin upright pill
MERGE_SIZE = 22.0
BIG_GRAPH = 60
"""Layers above which a graph's blocks are drawn with at most 2 sheets (4 otherwise): a
ResNet-50 is then 232 bars, not 343, and the browser redraws them on every edit."""
GRAPH_GAP = 26.0  # the least gap between columns
ARCH = 22.0  # the room above a lane for the skip connections arched over it
LANE_GAP = 12.0
CORNER = 8.0  # the radius an edge turns with
GRAPH_LABEL_SCALE = 0.6  # below this (drawn size of a name over its size at scale 1): no names


@dataclass
class _Node:
    index: int
    name: str
    type: str
    shape: tuple[int, ...] | None
    category: str
    inputs: list[int]
    kind: str = ""
    size: tuple[float, float, float, int] = (0.0, 0.0, 0.0, 1)  # width, height, depth, sheets
    column: int = 0
    lane: int = 0
    band: int = 0
    x: float = 0.0  # the left of the front sheet
    mid: float = 0.0  # the front sheet's vertical centre

    @property
    def right(self) -> float:
        return self.x + self.size[0] + self.size[2]


def dims(shape: tuple[int, ...] | None) -> str:
    """A shape as an edge's label: ``16×32×32``."""
    return "×".join(str(s) for s in shape) if shape else "?"


def graph_layout(spec: Any, analysis: Any, title: str) -> Layout:
    """A graph drawn as a DAG: column = the longest path from the input, the main path (the
    longest way to the last layer) in lane 0 and each branch in a lane of its own below, merges
    as small nodes, edges that turn only in the gaps between columns (skips arch over the
    lanes), and long graphs wrapped into bands where a single edge passes."""
    nodes = _graph_nodes(spec, analysis)
    taken = _place_lanes(nodes)
    edges = [(s, t) for t in nodes for s in dict.fromkeys(t.inputs)]
    labels = {(s, t.index): _edge_label(nodes, nodes[s], t) for s, t in edges}
    columns = max(n.column for n in nodes) + 1
    gaps = [GRAPH_GAP] * (columns + 1)
    for (s, _), text in labels.items():
        c = nodes[s].column + 1
        gaps[c] = max(gaps[c], text_width(text, EDGE_FONT) + 2 * CORNER + 10)
    widths = [0.0] * columns
    for n in nodes:
        body = n.size[0] + n.size[2]
        widths[n.column] = max(widths[n.column], body, text_width(n.name, GRAPH_FONT) + 4)
    bands = _bands(nodes, edges, columns, [gaps[c] + widths[c] for c in range(columns)])
    col_left, band_of = [0.0] * columns, [0] * columns
    lane_top: dict[tuple[int, int], float] = {}
    band_bottom: list[float] = []
    spans: list[tuple[float, float, float]] = []
    blocks, y, width = [], MARGIN + TITLE_HEIGHT, 0.0
    for b, band in enumerate(bands):
        x, band_top = MARGIN, y
        for c in band:
            col_left[c], band_of[c] = x + gaps[c], b
            x += gaps[c] + widths[c]
        width = max(width, x + MARGIN)
        members = [n for n in nodes if band_of[n.column] == b and n.column in band]
        for lane in sorted({n.lane for n in members}):
            row = [n for n in members if n.lane == lane]
            above = max(n.size[1] / 2 + n.size[2] for n in row)
            below = max(n.size[1] / 2 for n in row)
            lane_top[b, lane] = y + ARCH
            mid = y + ARCH + above
            for n in row:
                centre = col_left[n.column] + widths[n.column] / 2
                n.band, n.x, n.mid = b, centre - (n.size[0] + n.size[2]) / 2, mid
                blocks.append(_graph_block(n, centre, mid + below + 4 + GRAPH_FONT))
            y = mid + below + 8 + GRAPH_FONT + LANE_GAP
        band_bottom.append(y)
        spans.append((band_top, y, x + MARGIN))
        y += DIAGRAM_ROW_GAP
    geometry = (col_left, lane_top, band_bottom, taken)
    drawn = tuple(_edge(nodes[s], t, labels[s, t.index], geometry) for s, t in edges)
    blocks.sort(key=lambda block: block.index)
    width = max(width, text_width(title, 18) + 2 * DIAGRAM_MARGIN)
    height = float(int(band_bottom[-1] + MARGIN))
    return Layout(float(int(width) + 1), height, title, tuple(blocks), (), drawn, tuple(spans))


def _graph_nodes(spec: Any, analysis: Any) -> list[_Node]:
    """The input and every layer as a node, sized and in its column (inputs: node indices)."""
    nodes = [_Node(0, "input", "Input", tuple(spec.input_shape), "input", [])]
    index_of = {"input": 0} | {layer.name: k + 1 for k, layer in enumerate(spec.layers)}
    for k, layer in enumerate(spec.layers):
        shape = analysis.layers[k].output_shape if k < len(analysis.layers) else None
        category = REGISTRY[layer.type].category
        inputs = [index_of[n] for n in layer.inputs if index_of.get(n, k + 1) <= k]
        nodes.append(_Node(k + 1, layer.name, layer.type, shape, category, inputs))
    for n in nodes:
        n.column = 1 + max((nodes[i].column for i in n.inputs), default=-1 if n.index == 0 else 0)
        if n.category == "merge":
            n.kind, n.size = "merge", (MERGE_SIZE, MERGE_SIZE, 0.0, 1)
        elif n.shape is None:
            side_ = UNKNOWN_SIDE * GRAPH_SCALE
            n.kind, n.category, n.size = "unknown", "unknown", (side_, side_, 0.0, 1)
        elif n.category in PASS_THROUGH or n.type == "Identity":
            n.kind, n.size = "pass", (PASS_WIDTH, PASS_HEIGHT, 0.0, 1)
        else:
            kind, w, h, deep, sheets = block_size(n.shape)
            s = GRAPH_SCALE
            most = 4 if len(nodes) <= BIG_GRAPH else 2
            n.kind, n.size = kind, (max(6.0, w * s), max(6.0, h * s), deep * s, min(sheets, most))
    return nodes


def _place_lanes(nodes: list[_Node]) -> set[tuple[int, int]]:
    """Lane 0 for the main path; another node takes its deepest input's lane where that lane is
    free up to its column, else the first free lane below. Returns the taken (lane, column)."""
    main, k = set(), len(nodes) - 1
    while True:
        main.add(k)
        if not nodes[k].inputs:
            break
        k = max(nodes[k].inputs, key=lambda i: nodes[i].column)
    taken = {(0, nodes[i].column) for i in main}
    for n in nodes:
        if n.index in main:
            continue
        lane = None
        if n.inputs:
            src = nodes[max(n.inputs, key=lambda i: nodes[i].column)]
            cells = ((src.lane, c) for c in range(src.column + 1, n.column + 1))
            if src.lane > 0 and not any(cell in taken for cell in cells):
                lane = src.lane
        if lane is None:
            lane = 1
            while (lane, n.column) in taken:
                lane += 1
        n.lane = lane
        taken.add((lane, n.column))
    return taken


def _edge_label(nodes: list[_Node], source: _Node, target: _Node) -> str:
    """The shape on an edge into a merge, out of the input, or out of a layer that changed it."""
    if source.shape is None:
        return ""
    before = nodes[source.inputs[0]].shape if source.inputs else None
    changed = source.index == 0 or source.shape != before
    return dims(source.shape) if target.category == "merge" or changed else ""


def _bands(nodes: list[_Node], edges: list, columns: int, widths: list[float]) -> list[list[int]]:
    """The columns cut into bands about equally wide (under ``MAX_ROW_WIDTH``), cut only before a
    column of one node that a single edge enters from the left."""
    crossing = [0] * (columns + 1)
    for s, t in edges:
        crossing[nodes[s].column + 1] += 1
        crossing[t.column + 1] -= 1
    count = [0] * columns
    for n in nodes:
        count[n.column] += 1
    segments: list[list[int]] = [[0]]
    running = crossing[0]
    for c in range(1, columns):
        running += crossing[c]
        if count[c] == 1 and running == 1:
            segments.append([])
        segments[-1].append(c)
    sized = [(seg, 0.0, sum(widths[c] for c in seg)) for seg in segments]
    rows = _balanced_rows(sized, MAX_ROW_WIDTH - 2 * DIAGRAM_MARGIN)
    return [[c for seg, _, _ in row for c in seg] for row in rows]


def _graph_block(n: _Node, centre: float, label_y: float) -> Block:
    w, h, deep, sheets = n.size
    fill, stroke = COLORS[n.category]
    return Block(n.index, n.name, n.type, n.shape, n.kind, n.x, n.mid - h / 2, w, h, deep,
                 sheets, fill, stroke, (n.name,), centre, label_y)  # fmt: skip


def _edge(s: _Node, t: _Node, label: str, geometry: tuple) -> Edge:
    """One edge, orthogonal with rounded corners, turning only in the gaps between columns."""
    col_left, lane_top, band_bottom, taken = geometry
    sx, sy, tx, ty = s.right + 2, s.mid, t.x - 2, t.mid
    label_x, label_y = sx + 4 + text_width(label, EDGE_FONT) / 2, sy - 4
    if s.band != t.band:  # out of the band's end, back under it, into the next one
        down = band_bottom[s.band] + DIAGRAM_ROW_GAP / 2
        path = [(sx, sy), (sx + 10, sy), (sx + 10, down), (DIAGRAM_MARGIN / 2, down)]
        path += [(DIAGRAM_MARGIN / 2, ty), (tx, ty)]
        label_x, label_y = (DIAGRAM_MARGIN / 2 + tx) / 2, ty - 4  # in the gap it enters by
    else:
        between = range(s.column + 1, t.column)
        exit_x = col_left[s.column + 1] - CORNER
        entry_x = col_left[t.column] - CORNER
        if not any((s.lane, c) in taken for c in between):
            path = [(sx, sy), (entry_x, sy), (entry_x, ty), (tx, ty)]
        elif not any((t.lane, c) in taken for c in between):
            path = [(sx, sy), (exit_x, sy), (exit_x, ty), (tx, ty)]
        else:  # over every lane between
            arch = lane_top[s.band, min(s.lane, t.lane)] - ARCH / 2
            path = [(sx, sy), (exit_x, sy), (exit_x, arch), (entry_x, arch), (entry_x, ty)]
            path.append((tx, ty))
    points = tuple((round(x, 1), round(y, 1)) for x, y in _rounded(path))
    return Edge(s.index, t.index, points, label, round(label_x, 1), round(label_y, 1))


def _rounded(path: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The polyline with each corner turned as a quadratic curve of radius up to ``CORNER``."""
    clean = [path[0]]
    for p in path[1:]:
        if abs(p[0] - clean[-1][0]) + abs(p[1] - clean[-1][1]) > 0.05:
            clean.append(p)
    out = [clean[0]]
    for a, b, c in zip(clean, clean[1:], clean[2:], strict=False):
        la, lc = math.dist(a, b), math.dist(b, c)
        r = min(CORNER, la / 2, lc / 2)
        p = (b[0] + (a[0] - b[0]) * r / la, b[1] + (a[1] - b[1]) * r / la)
        q = (b[0] + (c[0] - b[0]) * r / lc, b[1] + (c[1] - b[1]) * r / lc)
        for k in range(4):
            u = k / 3
            out.append(
                (
                    (1 - u) ** 2 * p[0] + 2 * u * (1 - u) * b[0] + u * u * q[0],
                    (1 - u) ** 2 * p[1] + 2 * u * (1 - u) * b[1] + u * u * q[1],
                )
            )
    out.append(clean[-1])
    return out
