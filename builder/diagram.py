"""The architecture drawn as scaled blocks, like the classic LeNet figure: SVG and PNG.

One layout (``diagram_layout``) feeds both renderers, so the SVG and the PNG show the same
geometry. Feature maps ``[C, H, W]`` are stacks of sheets: the front sheet is ``side(W)`` wide and
``side(H)`` high, with ``side(n) = 14·sqrt(n)`` clamped to [14, 170] pixels, and the stack is
``depth(C) = 5·sqrt(C)`` pixels deep (at most 60; one sheet per channel up to 8). Sequences
``[C, L]`` are the same stacks of strips ``side(L)`` wide and ``SEQUENCE_HEIGHT`` high. Flat
vectors ``[F]`` are thin bars ``9·sqrt(F)`` high (clamped to [14, 260]). The input comes first;
every layer that changes the shape (convolutions, pooling, upsampling, padding, Flatten, Linear)
gets a block labelled with its name, type and output shape (``6@28×28`` for 6 maps of 28×28,
``16@64`` for 16 channels of a sequence 64 long); layers that keep it
(activations, BatchNorm, Dropout, Identity) are small tags on the arrow into the next block. A
long stack wraps onto further rows. Layers after an analysis error are dashed grey boxes.

A graph (SPEC.md "Graphs") is laid out by ``builder.diagram_figure.graph_layout`` instead:
columns by the longest path from the input, parallel branches in lanes of their own, blocks at
half size, shape-keeping layers as thin pills, merges as small discs (⊕ for ``Add``, "cat" for
``Concat``), and ``Layout.edges`` from each input to its reader with the tensor shape on the edges
into merges and where the shape changed; skips arch over the lanes, long graphs wrap into bands.

Every layer is one SVG group ``<g class="layer" data-index=... data-name=...>``; all text is
XML-escaped. The PNG is drawn with Pillow (no browser, no network) with its built-in font.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .analysis import Analysis, analyze
from .errors import SpecError
from .layers import REGISTRY
from .spec import Spec, _show, load_spec

FONT_SIZE = 14
TITLE_SIZE = 18
LINE_HEIGHT = 18
CHAR_WIDTH = 0.6  # average character width in ems, generous for a sans-serif
MARGIN = 24
TITLE_HEIGHT = 40
MIN_GAP = 44
COLUMN_PAD = 14
ROW_GAP = 30
LABEL_GAP = 16
MAX_ROW_WIDTH = 1400
TAG_HEIGHT = 20
TAG_GAP = 4
ARROW_HEAD = 8
MAX_PNG_PIXELS = 8_000_000  # e.g. 2,000 × 4,000: drawn in well under a second on a busy core
MAX_SCALE = 4.0
GRAPH_FONT = 11  # the names under a graph's blocks
EDGE_FONT = 10  # the shapes on a graph's edges
MERGE_SYMBOLS = {"Add": "⊕", "Concat": "cat"}

SIDE_PER_SQRT, SIDE_MIN, SIDE_MAX = 14.0, 14.0, 170.0
DEPTH_PER_SQRT, DEPTH_MAX, MAX_SHEETS = 5.0, 60.0, 8
BAR_WIDTH, BAR_PER_SQRT, BAR_MIN, BAR_MAX = 16.0, 9.0, 14.0, 260.0
SEQUENCE_HEIGHT = 14.0
UNKNOWN_SIDE = 40.0

PASS_THROUGH = ("activation", "normalization", "dropout")
COLORS = {  # category: (fill, stroke)
    "input": ("#E8E8E8", "#6B6B6B"),
    "convolution": ("#C6DBEF", "#2F5F8A"),
    "pooling": ("#FDD9B5", "#B3641A"),
    "upsampling": ("#D4EDEA", "#2E7D74"),
    "padding": ("#F2EBC9", "#8A7A2B"),
    "linear": ("#C7E9C0", "#3B7A35"),
    "reshape": ("#E0E0E0", "#707070"),
    "normalization": ("#E5D4EC", "#7E5A8E"),
    "activation": ("#F9D0CF", "#A8413F"),
    "dropout": ("#EEEEEE", "#8A8A8A"),
    "merge": ("#FFF3BF", "#9C7A00"),
    "unknown": ("#F4F4F4", "#9A9A9A"),
}


@dataclass(frozen=True)
class Block:
    """A drawn tensor (the input, or a layer's output) or a tag (a shape-keeping layer).

    Attributes:
        index: 0 for the input, k for the k-th layer.
        name, type: the layer's name and class (``"input"``, ``"Input"`` for the input).
        shape: the per-sample output shape, or None after an error.
        kind: ``"map"``, ``"sequence"``, ``"flat"``, ``"tag"`` or ``"unknown"``.
        x, y: top-left corner of the front sheet (of the tag).
        width, height: size of the front sheet (of the tag).
        depth: how far the back sheet sits up and to the right (0 for one sheet).
        sheets: how many sheets are drawn.
        fill, stroke: colours.
        labels: text lines under the block (a tag's text is ``labels[0]``), centred on ``label_x``
            with the first baseline at ``label_y``.
    """

    index: int
    name: str
    type: str
    shape: tuple[int, ...] | None
    kind: str
    x: float
    y: float
    width: float
    height: float
    depth: float
    sheets: int
    fill: str
    stroke: str
    labels: tuple[str, ...]
    label_x: float
    label_y: float

    @property
    def right(self) -> float:
        """The right edge of the whole stack."""
        return self.x + self.width + self.depth


@dataclass(frozen=True)
class Layout:
    """Everything to draw, in pixels at scale 1."""

    width: float
    height: float
    title: str
    blocks: tuple[Block, ...]
    arrows: tuple[tuple[float, float, float, float], ...]
    edges: tuple[Edge, ...] = ()  # a graph's connections (then ``arrows`` is empty)
    bands: tuple[tuple[float, float, float], ...] = ()  # a graph's bands: top, bottom, right


@dataclass(frozen=True)
class Edge:
    """A graph's connection from the block of ``source`` (0: the input) to that of ``target``:
    a polyline ending at the arrow's tip, and the tensor's shape as a label ("" for none)."""

    source: int
    target: int
    points: tuple[tuple[float, float], ...]
    label: str
    label_x: float
    label_y: float


def side(n: int) -> float:
    """Pixels for a feature map's height or width of ``n``: ``14·sqrt(n)`` in [14, 170]."""
    return _clamp(SIDE_PER_SQRT * math.sqrt(n), SIDE_MIN, SIDE_MAX)


def depth(channels: int) -> float:
    """Pixels a stack of ``channels`` sheets is deep: 0 for one, ``5·sqrt(C)`` up to 60."""
    return 0.0 if channels <= 1 else min(DEPTH_MAX, DEPTH_PER_SQRT * math.sqrt(channels))


def bar_height(features: int) -> float:
    """Pixels for a flat vector of ``features``: ``9·sqrt(F)`` in [14, 260]."""
    return _clamp(BAR_PER_SQRT * math.sqrt(features), BAR_MIN, BAR_MAX)


def block_size(shape: tuple[int, ...] | None) -> tuple[str, float, float, float, int]:
    """``(kind, width, height, depth, sheets)`` of the block for one per-sample shape."""
    if shape is None:
        return "unknown", UNKNOWN_SIDE, UNKNOWN_SIDE, 0.0, 1
    if len(shape) == 3:
        channels, height, width = shape
        return "map", side(width), side(height), depth(channels), min(channels, MAX_SHEETS)
    if len(shape) == 2:
        channels, length = shape
        sheets = min(channels, MAX_SHEETS)
        return "sequence", side(length), SEQUENCE_HEIGHT, depth(channels), sheets
    return "flat", BAR_WIDTH, bar_height(math.prod(shape)), 0.0, 1


def shape_label(shape: tuple[int, ...] | None) -> str:
    """``6@28×28`` for maps, ``16@64`` for sequences, ``400`` for vectors, ``?`` when unknown."""
    if shape is None:
        return "?"
    if len(shape) == 3:
        return f"{shape[0]}@{shape[1]}×{shape[2]}"
    if len(shape) == 2:
        return f"{shape[0]}@{shape[1]}"
    return "×".join(str(s) for s in shape)


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """An estimate of the rendered width (the same one for SVG and PNG layouts)."""
    return CHAR_WIDTH * size * len(text)


@dataclass
class _Column:
    index: int
    name: str
    type: str
    shape: tuple[int, ...] | None
    category: str
    tags: list[tuple[int, str, str]]  # shape-keeping layers on the arrow into this column


def diagram_layout(spec: Any, analysis: Analysis | None = None) -> Layout:
    """Compute the diagram's geometry (shared by ``diagram_svg`` and ``diagram_png``).

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.
        analysis: ``analyze(spec)`` where the caller has it already (a deep network's analysis
            costs milliseconds); computed here otherwise.

    Returns:
        The ``Layout``.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    if analysis is None:
        analysis = analyze(spec)
    if analysis.is_graph:
        from .diagram_figure import graph_layout  # the DAG geometry lives with its live figure

        return graph_layout(spec, analysis, _title(spec, analysis))
    sized = [_sized(column) for column in _columns(spec.input_shape, analysis.layers)]
    # split into rows of about equal width, each column taking its incoming gap (arrow, tags)
    rows = _balanced_rows(sized, MAX_ROW_WIDTH - 2 * MARGIN)

    blocks: list[Block] = []
    arrows: list[tuple[float, float, float, float]] = []
    top = MARGIN + TITLE_HEIGHT
    width = 0.0
    for row in rows:
        above, below = 0.0, 0.0
        for column, _, _ in row:
            _, _, height, deep, _ = block_size(column.shape)
            if column.category != "end":
                above = max(above, height / 2 + deep)
                below = max(below, height / 2)
            above = max(above, len(column.tags) * (TAG_HEIGHT + TAG_GAP) + ARROW_HEAD)
        mid = top + above
        label_y = mid + below + LABEL_GAP + FONT_SIZE
        x = MARGIN
        prev_right: float | None = None
        for column, gap, col_width in row:
            centre = x + gap + col_width / 2
            kind, bw, bh, deep, sheets = block_size(column.shape)
            left = centre - (bw + deep) / 2
            if column.index != 0:
                start = prev_right + 4 if prev_right is not None else x + 4
                end = left - 4 if column.category != "end" else x + gap
                arrows.append((start, mid, end, mid))
                blocks += _tags(column, (start + end) / 2, mid)
            if column.category != "end":
                fill, stroke = COLORS[column.category]
                blocks.append(
                    Block(
                        column.index,
                        column.name,
                        column.type,
                        column.shape,
                        kind,
                        left,
                        mid - bh / 2,
                        bw,
                        bh,
                        deep,
                        sheets,
                        fill,
                        stroke,
                        _labels(column),
                        centre,
                        label_y,
                    )
                )
                prev_right = left + bw + deep
            x += gap + col_width
        width = max(width, x + MARGIN)
        top = label_y + (3 - 1) * LINE_HEIGHT + ROW_GAP
    blocks.sort(key=lambda b: b.index)
    title = _title(spec, analysis)
    width = max(width, text_width(title, TITLE_SIZE) + 2 * MARGIN)
    return Layout(_r(width), _r(top - ROW_GAP + MARGIN), title, tuple(blocks), tuple(arrows))


def _title(spec: Spec, analysis: Any) -> str:
    params = f"{analysis.total_params:,} parameters" if analysis.ok else "analysis error"
    return f"{spec.name or spec.class_name} · input {shape_label(spec.input_shape)} · {params}"


def _columns(input_shape: tuple[int, ...], rows: Any) -> list[_Column]:
    """The input and every shape-changing layer as a column; shape-keeping layers become tags
    on the arrow into the next one (or into an ``end`` column after the last block)."""
    columns = [_Column(0, "input", "Input", input_shape, "input", [])]
    pending: list[tuple[int, str, str]] = []
    for row in rows:
        category = REGISTRY[row.type].category
        keeps_shape = category in PASS_THROUGH or row.type == "Identity"
        if keeps_shape and row.output_shape is not None:
            pending.append((row.index + 1, row.name, row.type))
            continue
        if row.output_shape is None:
            category = "unknown"
        columns.append(
            _Column(row.index + 1, row.name, row.type, row.output_shape, category, pending)
        )
        pending = []
    if pending:  # shape-keeping layers at the end: an arrow out of the last block
        columns.append(_Column(-1, "", "", None, "end", pending))
    return columns


def _sized(column: _Column) -> tuple[_Column, float, float]:
    """``(column, gap, width)``: the incoming gap (arrow and tags) and the column's width."""
    gap = 0.0
    if column.index != 0:
        widest = max((text_width(name, FONT_SIZE - 2) for _, name, _ in column.tags), default=0)
        gap = max(MIN_GAP, widest + 2 * TAG_GAP + 16)
    _, width, _, deep, _ = block_size(column.shape)
    body = 0.0 if column.category == "end" else width + deep
    labels = _labels(column)
    return column, gap, max(body, max((text_width(t) for t in labels), default=0)) + COLUMN_PAD


def _tags(column: _Column, centre: float, mid: float) -> list[Block]:
    """The tags of the shape-keeping layers on the arrow into ``column``, stacked upwards from
    the arrow at height ``mid``, centred on ``centre``."""
    blocks = []
    tag_y = mid - ARROW_HEAD - TAG_HEIGHT
    for t_index, t_name, t_type in reversed(column.tags):
        t_width = text_width(t_name, FONT_SIZE - 2) + 2 * TAG_GAP + 6
        fill, stroke = COLORS[REGISTRY[t_type].category]
        label_y = tag_y + TAG_HEIGHT / 2 + (FONT_SIZE - 2) * 0.35
        blocks.append(
            Block(t_index, t_name, t_type, None, "tag", centre - t_width / 2, tag_y, t_width,
                  TAG_HEIGHT, 0.0, 1, fill, stroke, (t_name,), centre, label_y)
        )  # fmt: skip
        tag_y -= TAG_HEIGHT + TAG_GAP
    return blocks


def _pack(sized: list[Any], limit: float) -> list[list[Any]]:
    """Greedy rows no wider than ``limit`` (a wider single column gets a row of its own)."""
    rows: list[list[Any]] = [[]]
    x = 0.0
    for item in sized:
        width = item[1] + item[2]
        if rows[-1] and x + width > limit:
            rows.append([])
            x = 0.0
        rows[-1].append(item)
        x += width
    return rows


def _balanced_rows(sized: list[Any], limit: float) -> list[list[Any]]:
    """As few rows as fit under ``limit``, made about equally wide (no lone last block)."""
    count = len(_pack(sized, limit))
    low = max(item[1] + item[2] for item in sized)
    high = max(limit, low)
    for _ in range(30):  # bisect the narrowest limit that still needs only ``count`` rows
        middle = (low + high) / 2
        if len(_pack(sized, middle)) <= count:
            high = middle
        else:
            low = middle
    return _pack(sized, high)


def _labels(column: _Column) -> tuple[str, ...]:
    if column.category == "end":
        return ()
    return (column.name, column.type, shape_label(column.shape))


def _sheet_offsets(block: Block) -> list[float]:
    """Offsets (up and right) of each sheet, back to front."""
    if block.sheets <= 1:
        return [0.0]
    step = block.depth / (block.sheets - 1)
    return [step * k for k in range(block.sheets - 1, -1, -1)]


# --- SVG -----------------------------------------------------------------------------------------


def diagram_svg(spec: Any) -> str:
    """The diagram as a standalone SVG document (one ``<g class="layer">`` per layer).

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.

    Returns:
        The SVG text (UTF-8, no external references).
    """
    layout = diagram_layout(spec)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(layout.width)}" '
        f'height="{_n(layout.height)}" viewBox="0 0 {_n(layout.width)} {_n(layout.height)}" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        f"<title>{escape(layout.title)}</title>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{MARGIN}" y="{MARGIN + TITLE_SIZE}" font-size="{TITLE_SIZE}" '
        f'font-weight="bold" fill="#222">{escape(layout.title)}</text>',
        '<g class="arrows" stroke="#555" stroke-width="2" fill="#555">',
    ]
    for x1, y1, x2, y2 in layout.arrows:
        out.append(
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2 - ARROW_HEAD)}" y2="{_n(y2)}"/>'
            f'<polygon points="{_points(_arrow_head(x2, y2))}" stroke="none"/>'
        )
    for edge in layout.edges:
        out.append(
            f'<g class="edge" data-source="{edge.source}" data-target="{edge.target}">'
            f'<polyline points="{_points(list(edge.points))}" fill="none" stroke-width="1.5"/>'
            f'<polygon points="{_points(_arrow_head(*edge.points[-1]))}" stroke="none"/>'
        )
        if edge.label:
            out.append(
                f'<text class="edge-label" x="{_n(edge.label_x)}" y="{_n(edge.label_y)}" '
                f'text-anchor="middle" font-size="{EDGE_FONT}" stroke="none" fill="#555">'
                f"{escape(edge.label)}</text>"
            )
        out.append("</g>")
    out.append("</g>")
    label_size = GRAPH_FONT if layout.edges else FONT_SIZE
    for block in layout.blocks:
        css = "input" if block.index == 0 else "layer"
        out.append(
            f'<g class="{css}" data-index="{block.index}" data-name={quoteattr(block.name)} '
            f"data-type={quoteattr(block.type)} data-kind={quoteattr(block.kind)}>"
        )
        if block.kind == "tag":
            out.append(
                f'<rect x="{_n(block.x)}" y="{_n(block.y)}" width="{_n(block.width)}" '
                f'height="{_n(block.height)}" rx="8" fill="{block.fill}" '
                f'stroke="{block.stroke}" stroke-width="1.5"/>'
            )
            out.append(
                f'<text x="{_n(block.label_x)}" y="{_n(block.label_y)}" text-anchor="middle" '
                f'font-size="{FONT_SIZE - 2}" fill="#222">{escape(block.labels[0])}</text>'
            )
        elif block.kind == "merge":
            r, cx, cy = block.width / 2, block.x + block.width / 2, block.y + block.height / 2
            out.append(
                f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="{block.fill}" '
                f'stroke="{block.stroke}" stroke-width="1.5"/>'
                f'<text class="symbol" x="{_n(cx)}" y="{_n(cy + 4)}" text-anchor="middle" '
                f'font-size="{FONT_SIZE - 2}" fill="#222">'
                f"{escape(MERGE_SYMBOLS.get(block.type, block.type))}</text>"
            )
        if block.kind != "tag":
            dash = ' stroke-dasharray="5 4"' if block.kind == "unknown" else ""
            for offset in _sheet_offsets(block) if block.kind != "merge" else ():
                front = ' class="front"' if offset == 0 else ""
                out.append(
                    f'<rect{front} x="{_n(block.x + offset)}" y="{_n(block.y - offset)}" '
                    f'width="{_n(block.width)}" height="{_n(block.height)}" '
                    f'fill="{block.fill}" stroke="{block.stroke}" stroke-width="1.5"{dash}/>'
                )
            for line, text in enumerate(block.labels):
                weight = ' font-weight="bold"' if line == 0 else ""
                colour = "#222" if line != 1 else "#666"
                out.append(
                    f'<text x="{_n(block.label_x)}" y="{_n(block.label_y + line * LINE_HEIGHT)}" '
                    f'text-anchor="middle" font-size="{label_size}" fill="{colour}"{weight}>'
                    f"{escape(text)}</text>"
                )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _arrow_head(x: float, y: float) -> list[tuple[float, float]]:
    return [(x, y), (x - ARROW_HEAD, y - ARROW_HEAD / 2), (x - ARROW_HEAD, y + ARROW_HEAD / 2)]


def _points(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _n(x: float) -> str:
    """A coordinate: one decimal, no trailing ``.0``."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _r(x: float) -> float:
    return float(math.ceil(x))


def _clamp(x: float, low: float, high: float) -> float:
    return max(low, min(high, x))


# --- PNG -----------------------------------------------------------------------------------------


def png_scale(layout: Layout, scale: float = 1.0) -> float:
    """The scale ``diagram_png`` uses: ``scale`` in (0, 4], lowered to keep the image under
    ``MAX_PNG_PIXELS``.

    Raises:
        SpecError: if ``scale`` is not a positive number.
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        raise SpecError(f"scale must be a positive number, got {_show(scale)}")
    scale = MAX_SCALE if scale >= MAX_SCALE else float(scale)  # float(10**400) would overflow
    pixels = layout.width * layout.height * scale * scale
    if pixels > MAX_PNG_PIXELS:
        scale *= math.sqrt(MAX_PNG_PIXELS / pixels)
    return scale


def png_size(layout: Layout, scale: float = 1.0) -> tuple[int, int]:
    """``(width, height)`` in pixels of ``diagram_png`` at ``scale``."""
    s = png_scale(layout, scale)
    return max(1, round(layout.width * s)), max(1, round(layout.height * s))


def diagram_png(spec: Any, scale: float = 1.0) -> bytes:
    """The same diagram as a PNG, drawn with Pillow (no browser, no network).

    Args:
        spec: a ``Spec`` or anything ``load_spec`` accepts.
        scale: pixels per layout unit (2.0 for a sharp slide); see ``png_scale``.

    Returns:
        The PNG file's bytes, ``png_size(diagram_layout(spec), scale)`` pixels.

    Raises:
        SpecError: for a bad spec or scale.
    """
    from PIL import Image, ImageDraw, ImageFont

    layout = diagram_layout(spec)
    s = png_scale(layout, scale)
    image = Image.new("RGB", png_size(layout, scale), "white")
    draw = ImageDraw.Draw(image)
    fonts: dict[tuple[int, bool], Any] = {}

    def font(size: float, bold: bool = False) -> Any:
        key = (max(1, round(size * s)), bold)
        if key not in fonts:
            fonts[key] = _png_font(ImageFont, *key)
        return fonts[key]

    def text(xy: tuple[float, float], value: str, size: float, **kw: Any) -> None:
        chosen = font(size, kw.pop("bold", False))
        if getattr(chosen, "fallback", False):
            value = value.replace("×", "x")  # Pillow's built-in font has no ×
        draw.text((xy[0] * s, xy[1] * s), value, font=chosen, **kw)

    def box(x: float, y: float, w: float, h: float) -> list[float]:
        return [x * s, y * s, (x + w) * s, (y + h) * s]

    line = max(1, round(1.5 * s))
    text(
        (MARGIN, MARGIN + TITLE_SIZE), layout.title, TITLE_SIZE, fill="#222", anchor="ls", bold=True
    )
    for x1, y1, x2, y2 in layout.arrows:
        draw.line([x1 * s, y1 * s, (x2 - ARROW_HEAD) * s, y2 * s], fill="#555555", width=line)
        draw.polygon([(px * s, py * s) for px, py in _arrow_head(x2, y2)], fill="#555555")
    for edge in layout.edges:
        draw.line([(px * s, py * s) for px, py in edge.points], fill="#555555", width=line)
        draw.polygon([(px * s, py * s) for px, py in _arrow_head(*edge.points[-1])], fill="#555")
        if edge.label:
            text((edge.label_x, edge.label_y), edge.label, EDGE_FONT, fill="#555", anchor="ms")
    label_size = GRAPH_FONT if layout.edges else FONT_SIZE
    for block in layout.blocks:
        if block.kind == "merge":
            draw.ellipse(box(block.x, block.y, block.width, block.height), fill=block.fill,
                         outline=block.stroke, width=line)  # fmt: skip
            symbol = MERGE_SYMBOLS.get(block.type, block.type)
            if getattr(font(FONT_SIZE - 2), "fallback", False):
                symbol = symbol.replace("⊕", "+")
            centre = (block.x + block.width / 2, block.y + block.height / 2)
            text(centre, symbol, FONT_SIZE - 2, fill="#222", anchor="mm")
        if block.kind == "tag":
            draw.rounded_rectangle(
                box(block.x, block.y, block.width, block.height),
                radius=8 * s,
                fill=block.fill,
                outline=block.stroke,
                width=line,
            )
            text(
                (block.label_x, block.label_y),
                block.labels[0],
                FONT_SIZE - 2,
                fill="#222",
                anchor="ms",
            )
            continue
        for offset in _sheet_offsets(block) if block.kind != "merge" else ():
            draw.rectangle(
                box(block.x + offset, block.y - offset, block.width, block.height),
                fill=block.fill,
                outline=block.stroke,
                width=line,
            )
        for k, label in enumerate(block.labels):
            text(
                (block.label_x, block.label_y + k * LINE_HEIGHT),
                label,
                label_size,
                fill="#666" if k == 1 else "#222",
                anchor="ms",
                bold=k == 0,
            )
    buffer = io.BytesIO()
    # zlib's default level: half the time of optimize=True (0.6 s at MAX_PNG_PIXELS), ~10 % larger
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


PNG_FONTS = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}


def _png_font(image_font: Any, px: int, bold: bool) -> Any:
    """DejaVu Sans (the SVG's first choice) where the system has it, else Pillow's own font."""
    try:
        return image_font.truetype(PNG_FONTS[bold], px)
    except OSError:
        fallback = image_font.load_default(size=px)
        fallback.fallback = True
        return fallback
