"""The architecture diagram: valid SVG, one group per layer, sizes that grow with the tensor, and
a PNG drawn from the same geometry (checked pixel by pixel at the blocks' centres)."""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from builder import SpecError, load_spec
from builder.diagram import (
    MAX_PNG_PIXELS,
    MAX_ROW_WIDTH,
    bar_height,
    block_size,
    depth,
    diagram_layout,
    diagram_png,
    diagram_svg,
    png_size,
    shape_label,
    side,
)
from builder.presets import PRESET_NAMES, preset
from tests.designs import vgg16_features
from tests.test_receptive_memory import EXTREME_DESIGNS, bounded

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    return root


def layer_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "layer"]


def image_design(c: int, h: int, w: int) -> dict:
    return {"input_shape": [c, h, w], "layers": [{"type": "ReLU"}]}


def input_front(svg: str) -> tuple[float, float, int]:
    """(width, height, sheets) of the input block's front sheet."""
    group = next(g for g in parse(svg).iter(f"{SVG}g") if g.get("class") == "input")
    rects = group.findall(f"{SVG}rect")
    front = next(r for r in rects if r.get("class") == "front")
    return float(front.get("width")), float(front.get("height")), len(rects)


@pytest.mark.parametrize("name", [n for n in PRESET_NAMES if n != "empty"])
def test_svg_parses_with_one_group_per_layer(name):
    design = preset(name)
    root = parse(diagram_svg(design))
    groups = layer_groups(root)
    assert [int(g.get("data-index")) for g in groups] == list(range(1, len(design["layers"]) + 1))
    names = [layer.name for layer in load_spec(design).layers]
    assert [g.get("data-name") for g in groups] == names
    layout = diagram_layout(design)
    assert float(root.get("width")) == layout.width and float(root.get("height")) == layout.height
    # every drawn thing lies on the canvas
    for rect in root.iter(f"{SVG}rect"):
        if rect.get("width") == "100%":
            continue
        x, y = float(rect.get("x")), float(rect.get("y"))
        assert x >= 0 and x + float(rect.get("width")) <= layout.width
        assert y >= 0 and y + float(rect.get("height")) <= layout.height


def test_lenet_blocks_tags_and_labels():
    root = parse(diagram_svg(preset()))
    groups = {g.get("data-name"): g for g in layer_groups(root)}
    assert groups["conv1"].get("data-kind") == "map"
    assert groups["relu1"].get("data-kind") == "tag"
    assert groups["fc1"].get("data-kind") == "flat"
    texts = ["".join(t.itertext()) for t in groups["conv1"].iter(f"{SVG}text")]
    assert texts == ["conv1", "Conv2d", "6@28×28"]
    assert len(groups["conv1"].findall(f"{SVG}rect")) == 6  # one sheet per channel
    assert len(groups["conv2"].findall(f"{SVG}rect")) == 8  # 16 channels: capped at 8 sheets
    title = "".join(root.find(f"{SVG}title").itertext())
    assert title == "LeNet · input 3@32×32 · 62,006 parameters"


def test_text_is_escaped():
    design = preset()
    design["name"] = 'A<b>&"quoted"</b> net'
    root = parse(diagram_svg(design))
    assert "".join(root.find(f"{SVG}title").itertext()).startswith('A<b>&"quoted"</b> net')
    assert root.find(f"{SVG}b") is None


def test_sizes_grow_with_height_width_and_channels():
    values = range(1, 3000)
    for f in (side, depth, bar_height):
        sizes = [f(n) for n in values]
        assert all(a <= b for a, b in itertools.pairwise(sizes)), f
        assert sizes[-1] > sizes[0]
    assert side(1) < side(8) < side(32) < side(100)  # strictly inside the clamp
    assert depth(1) == 0 < depth(2) < depth(16) < depth(64)
    widths = [input_front(diagram_svg(image_design(1, 8, n)))[0] for n in (4, 8, 16, 32, 64)]
    heights = [input_front(diagram_svg(image_design(1, n, 8)))[1] for n in (4, 8, 16, 32, 64)]
    assert widths == sorted(widths) and len(set(widths)) == 5
    assert heights == sorted(heights) and len(set(heights)) == 5
    sheets = [input_front(diagram_svg(image_design(c, 16, 16)))[2] for c in (1, 2, 4, 8, 64)]
    assert sheets == [1, 2, 4, 8, 8]
    kinds = [block_size(s)[0] for s in [(3, 4, 4), (10,), (4, 25), None]]
    assert kinds == ["map", "flat", "sequence", "unknown"]


def test_every_case_of_the_layer_table_is_drawn_in_its_categorys_colours():
    """Every layer type (the shared table), on its input: one group, drawn as a block where it
    changes the shape and as a tag where it keeps it, filled with its palette category's
    colour."""
    from builder.diagram import COLORS, PASS_THROUGH
    from builder.layers import CATEGORIES, REGISTRY
    from tests.cases import CASES, case_spec

    assert set(CATEGORIES) <= set(COLORS)
    for case in CASES:
        design = case_spec(case)
        (group,) = layer_groups(parse(diagram_svg(design)))
        entry = REGISTRY[case[2]["type"]]
        block = next(b for b in diagram_layout(design).blocks if b.index == 1)
        assert group.get("data-type") == entry.name
        keeps = entry.category in PASS_THROUGH or entry.name == "Identity"
        assert (block.kind == "tag") is keeps, case[0]
        assert block.fill == COLORS[entry.category][0]
        diagram_png(design, scale=0.5)


def sequence_design(c: int, length: int) -> dict:
    return {"input_shape": [c, length], "layers": [{"type": "ReLU"}]}


def test_sequences_are_strips_that_grow_with_length_and_channels():
    """[C, L]: a stack of strips side(L) wide, one sheet per channel up to 8, labelled C@L."""
    widths = [input_front(diagram_svg(sequence_design(1, n)))[0] for n in (4, 16, 64, 128)]
    assert widths == [pytest.approx(side(n), abs=0.05) for n in (4, 16, 64, 128)]
    assert len(set(widths)) == 4
    sheets = [input_front(diagram_svg(sequence_design(c, 32)))[2] for c in (1, 3, 8, 40)]
    assert sheets == [1, 3, 8, 8]
    design = {
        "input_shape": [2, 64],
        "layers": [
            {"type": "Conv1d", "out_channels": 16, "kernel_size": 5, "padding": 2},
            {"type": "ReLU"},
            {"type": "MaxPool1d", "kernel_size": 4},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 10},
        ],
    }
    root = parse(diagram_svg(design))
    groups = {g.get("data-name"): g for g in layer_groups(root)}
    assert groups["conv1"].get("data-kind") == "sequence"
    texts = ["".join(t.itertext()) for t in groups["pool1"].iter(f"{SVG}text")]
    assert texts == ["pool1", "MaxPool1d", "16@16"]
    assert groups["relu1"].get("data-kind") == "tag"
    blocks = {b.name: b for b in diagram_layout(design).blocks}
    assert blocks["conv1"].width > blocks["pool1"].width  # 64 long, then 16
    assert blocks["conv1"].depth == pytest.approx(depth(16))
    assert blocks["conv1"].depth > blocks["input"].depth
    title = "".join(root.find(f"{SVG}title").itertext())
    assert "input 2@64" in title
    layout = diagram_layout(design)
    image = Image.open(io.BytesIO(diagram_png(design))).convert("RGB")
    assert image.size == png_size(layout)
    conv = blocks["conv1"]  # the front strip's centre is drawn in its fill colour
    centre = (round(conv.x + conv.width / 2), round(conv.y + conv.height / 2))
    fill = tuple(int(conv.fill[i : i + 2], 16) for i in (1, 3, 5))
    assert image.getpixel(centre) == fill


def test_block_geometry_follows_the_shapes():
    layout = diagram_layout(preset())
    blocks = {b.name: b for b in layout.blocks}
    assert blocks["conv1"].width == pytest.approx(side(28))
    assert blocks["pool1"].height == pytest.approx(side(14))
    assert blocks["conv2"].depth == pytest.approx(depth(16))
    assert blocks["fc1"].height == pytest.approx(bar_height(120))
    assert blocks["input"].right < blocks["conv1"].x < blocks["pool1"].x  # left to right
    assert shape_label((16, 5, 5)) == "16@5×5" and shape_label((400,)) == "400"


def test_layers_after_an_error_are_unknown_boxes():
    design = {
        "input_shape": [1, 8, 8],
        "layers": [
            {"type": "Conv2d", "out_channels": 2, "kernel_size": 3},
            {"type": "Linear", "out_features": 4},
            {"type": "ReLU"},
        ],
    }
    root = parse(diagram_svg(design))
    kinds = [g.get("data-kind") for g in layer_groups(root)]
    assert kinds == ["map", "unknown", "unknown"]
    assert "analysis error" in "".join(root.find(f"{SVG}title").itertext())


def test_trailing_shape_keeping_layers_get_an_arrow_out():
    design = preset()
    design["layers"].append({"type": "Softmax", "dim": 1})
    layout = diagram_layout(design)
    tag = next(b for b in layout.blocks if b.type == "Softmax")
    assert tag.kind == "tag"
    last = next(b for b in layout.blocks if b.name == "fc3")
    assert any(x1 >= last.right and x2 > x1 for x1, _, x2, _ in layout.arrows)


def test_a_long_stack_wraps_into_balanced_rows():
    layers = vgg16_features(relu=False)
    design = {"input_shape": [3, 224, 224], "layers": layers}
    layout = diagram_layout(design)
    assert layout.width <= MAX_ROW_WIDTH
    rows = sorted({round(b.label_y) for b in layout.blocks})
    assert len(rows) >= 2
    per_row = [sum(1 for b in layout.blocks if round(b.label_y) == y) for y in rows]
    assert max(per_row) - min(per_row) <= 2


def test_empty_design_is_just_the_input():
    root = parse(diagram_svg(preset("empty")))
    assert layer_groups(root) == []


def test_bad_spec_is_a_spec_error():
    with pytest.raises(SpecError):
        diagram_svg({"input_shape": [3, 32, 32, 32], "layers": []})


# --- PNG ---------------------------------------------------------------------------------------


def hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize("scale", [1.0, 2.0, 0.5])
def test_png_decodes_to_the_layout_size_and_draws_the_blocks_where_the_layout_says(scale):
    design = preset()
    png = diagram_png(design, scale)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    layout = diagram_layout(design)
    assert image.size == png_size(layout, scale)
    assert image.size == (round(layout.width * scale), round(layout.height * scale))
    rgb = image.convert("RGB")
    for block in layout.blocks:
        if block.kind == "tag":
            continue
        # the middle of the front sheet's left half: inside the block, clear of the label text
        x = (block.x + block.width * 0.3) * scale
        y = (block.y + block.height * 0.5) * scale
        assert rgb.getpixel((int(x), int(y))) == hex_rgb(block.fill), block.name
    assert rgb.getpixel((1, 1)) == (255, 255, 255)


def test_png_scale_is_bounded():
    design = preset("AlexNet-like")
    layout = diagram_layout(design)
    width, height = png_size(layout, 1000.0)
    assert width * height <= MAX_PNG_PIXELS * 1.01
    with pytest.raises(ValueError, match="scale"):
        diagram_png(design, 0)


@pytest.mark.parametrize("name", list(EXTREME_DESIGNS))
def test_extreme_designs_draw_quickly_in_bounded_memory(name):
    """Shapes of 2³¹ − 1, 200 layers, 64-character names: the SVG has every layer, and the PNG
    (at the largest scale) stays within ``MAX_PNG_PIXELS``; its time is bounded by that size."""
    design = EXTREME_DESIGNS[name]
    with bounded():
        svg = diagram_svg(design)
    groups = layer_groups(parse(svg))
    assert [int(g.get("data-index")) for g in groups] == list(range(1, len(design["layers"]) + 1))
    with bounded(seconds=4.0):  # encoding up to 25 million pixels
        png = diagram_png(design, 4.0)
    image = Image.open(io.BytesIO(png))
    assert image.size == png_size(diagram_layout(design), 4.0)
    assert image.size[0] * image.size[1] <= MAX_PNG_PIXELS * 1.01


@pytest.mark.parametrize("scale", [float("nan"), -1, 0, "2", None, True])
def test_unusable_png_scale_is_a_spec_error(scale):
    with pytest.raises(SpecError, match="scale"):
        diagram_png(preset(), scale)


def test_a_huge_png_scale_is_capped_not_an_overflow():
    layout = diagram_layout(preset())
    png = diagram_png(preset(), 10**400)  # float(10**400) raises OverflowError
    assert Image.open(io.BytesIO(png)).size == png_size(layout, 4.0) == png_size(layout, 10**400)
