"""Diagrams of graphs (SPEC.md "Graphs"): one block per layer, one edge per (input, reader) pair
drawn from the input's block to the reader's, the shapes a merge reads on its edges, branches in
lanes of their own, skips that pass no block, and the same geometry in the SVG and the PNG.

The oracles: the specs' own wiring (``inputs``, else the layer before), shapes worked out by hand
or by a torch forward pass, and the drawn geometry itself (points against block rectangles).
"""

from __future__ import annotations

import io
import itertools
import math
import time
import xml.etree.ElementTree as ET
from collections import Counter

import plotly.graph_objects as go
import pytest
import torch
from PIL import Image

from builder import build_model, load_spec
from builder.diagram import MAX_PNG_PIXELS, diagram_layout, diagram_png, diagram_svg, png_size
from builder.diagram_figure import diagram_figure as figure_here
from builder.figures import diagram_figure
from builder.presets import preset
from tests.test_graphs import INCEPTION, TINY_RES, UNET

SVG = "{http://www.w3.org/2000/svg}"
GRAPHS = {"tiny_res": TINY_RES, "inception": INCEPTION, "unet": UNET}


def wiring(design: dict) -> list[tuple[str, str]]:
    """(input, reader) name pairs read from the design dict itself (no ``inputs``: the layer
    before; the resolved names of unnamed layers come from ``load_spec``)."""
    names = [layer.name for layer in load_spec(design).layers]
    pairs = []
    for k, layer in enumerate(design["layers"]):
        inputs = layer.get("inputs") or (["input"] if k == 0 else [names[k - 1]])
        pairs += [(name, names[k]) for name in dict.fromkeys(inputs)]
    return pairs


def resnet(blocks: int, channels: int = 8) -> dict:
    """A ResNet-like graph: a stem, then ``blocks`` basic blocks (every fourth one strided, with
    a projection shortcut), a head; ``9 · blocks + 4`` layers or so."""
    layers: list[dict] = [
        {"type": "Conv2d", "name": "stem", "out_channels": channels, "kernel_size": 3, "padding": 1}
    ]
    last, c = "stem", channels
    for b in range(blocks):
        stride, out = (2, c * 2) if b % 4 == 3 else (1, c)
        conv = {"type": "Conv2d", "kernel_size": 3, "padding": 1, "out_channels": out}
        layers += [
            {**conv, "name": f"b{b}_c1", "inputs": [last], "stride": stride},
            {"type": "BatchNorm2d", "name": f"b{b}_n1"},
            {"type": "ReLU", "name": f"b{b}_r1"},
            {**conv, "name": f"b{b}_c2"},
            {"type": "BatchNorm2d", "name": f"b{b}_n2"},
        ]
        skip = last
        if stride != 1:
            layers += [
                {"type": "Conv2d", "name": f"b{b}_p", "inputs": [last], "out_channels": out,
                 "kernel_size": 1, "stride": stride},
                {"type": "BatchNorm2d", "name": f"b{b}_pn"},
            ]  # fmt: skip
            skip = f"b{b}_pn"
        layers += [
            {"type": "Add", "name": f"b{b}_add", "inputs": [f"b{b}_n2", skip]},
            {"type": "ReLU", "name": f"b{b}_out"},
        ]
        last, c = f"b{b}_out", out
    layers += [
        {"type": "AdaptiveAvgPool2d", "output_size": 1},
        {"type": "Flatten"},
        {"type": "Linear", "out_features": 10},
    ]
    return {"name": "ResLike", "input_shape": [3, 64, 64], "layers": layers}


def index_of(design: dict) -> dict[str, int]:
    return {"input": 0} | {layer.name: k + 1 for k, layer in enumerate(load_spec(design).layers)}


def mid(block) -> tuple[float, float]:
    return block.x + (block.width + block.depth) / 2, block.y + block.height / 2


@pytest.mark.parametrize("name", list(GRAPHS))
def test_every_layer_is_one_block_with_its_index_in_customdata(name):
    design = GRAPHS[name]
    layout = diagram_layout(design)
    count = len(design["layers"]) + 1
    assert Counter(b.index for b in layout.blocks) == Counter(range(count))
    bars = diagram_figure(layout).data[0]
    assert bars.type == "bar"
    blocks = {b.index: b for b in layout.blocks}
    seen = set()
    for x, base, meta in zip(bars.x, bars.base, bars.customdata, strict=True):
        block = blocks[meta[0]]  # every bar lies on the block of the index it carries
        assert block.x - 0.2 <= x <= block.x + block.width + block.depth + 0.2
        assert block.y - block.depth - 0.2 <= base <= block.y + 0.2
        assert meta[1] == block.name and meta[2] == block.type
        seen.add(meta[0])
    assert seen == set(range(count))  # merges included: every block can be clicked


@pytest.mark.parametrize("name", list(GRAPHS))
def test_one_edge_per_input_and_reader_from_block_to_block(name):
    design = GRAPHS[name]
    layout = diagram_layout(design)
    at = index_of(design)
    pairs = Counter((e.source, e.target) for e in layout.edges)
    assert pairs == Counter((at[a], at[b]) for a, b in wiring(design))
    blocks = {b.index: b for b in layout.blocks}
    for edge in layout.edges:
        source, target = blocks[edge.source], blocks[edge.target]
        (x0, y0), (x1, y1) = edge.points[0], edge.points[-1]
        assert abs(x0 - source.right) <= 3 and abs(y0 - mid(source)[1]) <= 0.1
        assert abs(x1 - target.x) <= 3 and abs(y1 - mid(target)[1]) <= 0.1
    lines = diagram_figure(layout).data[1]  # drawn in the figure, arrow heads at the tips
    drawn = set(zip(lines.x, lines.y, strict=True))
    for edge in layout.edges:
        assert edge.points[0] in drawn and edge.points[-1] in drawn


def test_merge_edges_carry_the_shapes_they_read():
    expected = {  # by hand: each branch's channels at 12 × 12
        ("b1", "mixed"): "4×12×12",
        ("b2b", "mixed"): "6×12×12",
        ("b3b", "mixed"): "5×12×12",
        ("b4b", "mixed"): "3×12×12",
    }
    at = index_of(INCEPTION)
    labels = {(e.source, e.target): e.label for e in diagram_layout(INCEPTION).edges}
    for (a, b), text in expected.items():
        assert labels[at[a], at[b]] == text


@pytest.mark.parametrize("name", list(GRAPHS))
def test_merge_edges_carry_the_shapes_of_a_torch_forward_pass(name):
    design = GRAPHS[name]
    model = build_model(design).eval()
    seen: dict[str, tuple[int, ...]] = {}
    for module_name, module in model.named_modules():
        if module_name:
            module.register_forward_hook(
                lambda m, i, o, n=module_name: seen.__setitem__(n, tuple(o.shape[1:]))
            )
    with torch.no_grad():
        model(torch.zeros(1, *design["input_shape"]))
    seen["input"] = tuple(design["input_shape"])
    at = index_of(design)
    merges = {layer.name for layer in load_spec(design).layers if layer.type in ("Add", "Concat")}
    labels = {(e.source, e.target): e.label for e in diagram_layout(design).edges}
    checked = 0
    for a, b in wiring(design):
        if b in merges:
            assert labels[at[a], at[b]] == "×".join(map(str, seen[a]))
            checked += 1
    assert checked >= 2


def test_inception_branches_take_distinct_lanes_at_the_same_depth():
    layout = diagram_layout(INCEPTION)
    blocks = {b.name: b for b in layout.blocks}
    for level in (["b1", "b2a", "b3a", "b4a"], ["b2b", "b3b", "b4b"]):
        centres = [mid(blocks[n]) for n in level]
        assert max(x for x, _ in centres) - min(x for x, _ in centres) < 1  # one column
        rows = sorted(y for _, y in centres)
        gaps = [b - a for a, b in itertools.pairwise(rows)]
        assert min(gaps) > max(blocks[n].height for n in level)  # rows apart, no overlap
    # the merge and what follows are to the right of every branch
    right = max(blocks[n].right for n in ("b1", "b2b", "b3b", "b4b"))
    assert blocks["mixed"].x > right


def _crosses(edge, block) -> bool:
    """Whether the edge's polyline passes through the block's rectangle (sampled finely)."""
    x0, x1 = block.x + 1, block.x + block.width + block.depth - 1
    y0, y1 = block.y - block.depth + 1, block.y + block.height - 1
    for (ax, ay), (bx, by) in zip(edge.points, edge.points[1:], strict=False):
        steps = max(1, int(math.dist((ax, ay), (bx, by)) / 2))
        for k in range(steps + 1):
            x, y = ax + (bx - ax) * k / steps, ay + (by - ay) * k / steps
            if x0 < x < x1 and y0 < y < y1:
                return True
    return False


@pytest.mark.parametrize("design", [TINY_RES, INCEPTION, UNET, resnet(9)], ids=str)
def test_no_edge_crosses_a_block(design):
    layout = diagram_layout(design)
    for edge in layout.edges:
        for block in layout.blocks:
            if block.index not in (edge.source, edge.target):
                assert not _crosses(edge, block), (edge.source, edge.target, block.name)


def test_skips_arch_over_the_blocks_they_jump():
    layout = diagram_layout(TINY_RES)
    at = index_of(TINY_RES)
    skip = next(e for e in layout.edges if (e.source, e.target) == (0, at["add1"]))
    jumped = [b for b in layout.blocks if 0 < b.index < at["add1"]]
    assert min(y for _, y in skip.points) < min(b.y - b.depth for b in jumped)


@pytest.mark.parametrize("name", list(GRAPHS))
def test_svg_parses_and_draws_blocks_merges_edges_and_shapes(name):
    design = GRAPHS[name]
    root = ET.fromstring(diagram_svg(design).encode("utf-8"))
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") in ("layer", "input")]
    assert sorted(int(g.get("data-index")) for g in groups) == list(
        range(len(design["layers"]) + 1)
    )
    merges = [g for g in groups if g.get("data-kind") == "merge"]
    assert merges and all(g.find(f"{SVG}circle") is not None for g in merges)
    symbols = {g.get("data-type"): g.find(f"{SVG}text").text for g in merges}
    assert set(symbols.values()) <= {"⊕", "cat"}
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    at = index_of(design)
    assert Counter((int(g.get("data-source")), int(g.get("data-target"))) for g in edges) == (
        Counter((at[a], at[b]) for a, b in wiring(design))
    )
    texts = {t.text for t in root.iter(f"{SVG}text") if t.get("class") == "edge-label"}
    for layer in load_spec(design).layers:
        assert layer.name in {t.text for t in root.iter(f"{SVG}text")}
    assert any("×" in t for t in texts)


def test_png_draws_the_graph_within_the_pixel_limit():
    design = resnet(26)  # about 200 layers
    assert len(design["layers"]) >= 190
    layout = diagram_layout(design)
    data = diagram_png(design, scale=4.0)
    image = Image.open(io.BytesIO(data))
    assert image.size == png_size(layout, 4.0)
    assert image.size[0] * image.size[1] <= MAX_PNG_PIXELS
    merge = next(b for b in layout.blocks if b.kind == "merge")
    s = image.size[0] / layout.width
    centre = image.convert("RGB").getpixel((round((merge.x + 2) * s), round(mid(merge)[1] * s)))
    assert centre != (255, 255, 255)  # the merge's disc is drawn where the layout says


def test_selected_merge_is_highlighted():
    layout = diagram_layout(TINY_RES)
    add = index_of(TINY_RES)["add1"]
    fig = diagram_figure(layout, selected=add)
    bars = fig.data[0]
    assert list(bars.selectedpoints) == [k for k, m in enumerate(bars.customdata) if m[0] == add]
    (outline,) = fig.layout.shapes
    block = next(b for b in layout.blocks if b.index == add)
    assert outline.x0 < block.x < block.right < outline.x1


def test_a_long_graph_wraps_and_keeps_every_edge():
    design = resnet(9)
    layout = diagram_layout(design)
    assert len(layout.bands) > 1
    fig = diagram_figure(layout, width_hint=900, max_height=270)
    x_range, y_range = fig.layout.xaxis.range, fig.layout.yaxis.range
    scale = min(900 / x_range[1], 270 / (y_range[0] - y_range[1]))
    assert scale > 0.25  # bands side by side: drawn larger than one tall column of bands
    at = index_of(design)
    assert (
        len(layout.edges) == len(wiring(design)) == len({(at[a], at[b]) for a, b in wiring(design)})
    )


def test_stack_figure_keeps_its_structure():
    layout = diagram_layout(preset("LeNet (the article)"))
    assert layout.edges == () and layout.arrows
    fig = figure_here(layout, selected=1)
    assert [t.type for t in fig.data] == ["bar", "scatter", "scatter"]
    assert [t.mode for t in fig.data[1:]] == ["lines", "text"]
    assert {m[0] for m in fig.data[0].customdata} == set(
        range(len(load_spec(preset("LeNet (the article)")).layers) + 1)
    )


def test_a_200_layer_graph_draws_quickly():
    design = resnet(26)
    spec = load_spec(design)
    layout = diagram_layout(spec)
    best_layout = best_figure = math.inf
    for _ in range(5):
        start = time.perf_counter()
        layout = diagram_layout(spec)
        middle = time.perf_counter()
        diagram_figure(layout, selected=7, width_hint=900, max_height=270)
        best_layout = min(best_layout, middle - start)
        best_figure = min(best_figure, time.perf_counter() - middle)
    assert best_layout + best_figure < 0.1 * 3  # under 100 ms; room for a busy shared core


@pytest.mark.parametrize("name", list(GRAPHS))
def test_graph_figure_passes_plotly_validation(name):
    fig = diagram_figure(diagram_layout(GRAPHS[name]), selected=2, width_hint=900, max_height=270)
    checked = go.Figure(fig.to_dict())  # built unvalidated: every property must be valid
    assert [t.type for t in checked.data] == ["bar", "scatter", "scatter", "scatter"]
    symbols = [t for t in checked.data[2].text if t in ("⊕", "cat")]
    merges = [layer for layer in GRAPHS[name]["layers"] if layer["type"] in ("Add", "Concat")]
    assert len(symbols) == len(merges)
