"""Editing graphs in the app (AppTest): inputs pickers, branch from here, merges from the
palette, templates, the projection-shortcut fix, the table's inputs column."""

from __future__ import annotations

import copy
from pathlib import Path

import builder
from builder.share import encode_design
from tests.test_app import add_layer, add_template, design, open_card, plain, start, table
from tests.test_graphs import TINY_RES


def _graph_app(spec: dict | None = None):
    at = start({"d": encode_design(spec or TINY_RES)})
    for uid in range(len((spec or TINY_RES)["layers"])):
        at.session_state[f"card:{uid}"] = True
    return at.run()


def _picker(at, uid: int):
    key = f"w:{uid}:inputs:"
    for widget in [*at.selectbox, *at.multiselect]:
        if widget.key and widget.key.startswith(key):
            return widget
    raise AssertionError(f"no inputs picker for layer uid {uid}")


def test_table_and_cards_show_where_inputs_come_from() -> None:
    at = _graph_app()
    frame = table(at)
    assert "inputs" in frame.columns
    assert list(frame["inputs"])[6] == "bn2 + input"  # row 0 is the network's input
    heads = [plain(b.label) for b in at.button if b.key and b.key.startswith("head:")]
    assert any("add1** ← bn2 + input" in h for h in heads)
    assert any("cat1** ← relu2 ‖ branch" in h for h in heads)
    merge = _picker(at, 5)
    assert merge.value == ["bn2", "input"]
    assert _picker(at, 3).value == "relu1"
    # a plain stack has no inputs column
    stack_app = start()
    assert "inputs" not in table(stack_app).columns


def test_rewiring_a_merge_is_one_undoable_edit() -> None:
    at = _graph_app()
    _picker(at, 5).set_value(["bn2", "relu1"]).run()
    assert not at.exception
    assert design(at)["layers"][5]["inputs"] == ["bn2", "relu1"]
    analysis = builder.analyze(design(at))
    assert analysis.layers[5].inputs == ("bn2", "relu1") and analysis.ok
    at.button(key="undo").click().run()
    assert design(at)["layers"][5]["inputs"] == ["bn2", "input"]
    # a merge of one input is refused with the layer and field named; the design stays
    _picker(at, 5).set_value(["bn2"]).run()
    assert design(at)["layers"][5]["inputs"] == ["bn2", "input"]
    assert any("add1" in e.value and "inputs" in e.value for e in at.error)


def test_branch_from_here_then_merge_from_the_palette() -> None:
    stack = {
        "input_shape": [3, 16, 16],
        "layers": [
            {"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "ReLU"},
            {"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
        ],
    }
    at = _graph_app(stack)
    at.button(key="branch:1").click().run()
    layers = design(at)["layers"]
    assert len(layers) == 4 and layers[3]["inputs"] == ["relu1"]
    uid = at.session_state["uids"][3]
    open_card(at, uid)
    # the branch is a loose end until merged: its error says so
    assert "never used" in builder.analyze(design(at)).layers[2].error
    add_layer(at, "Add")
    layers = design(at)["layers"]
    assert layers[4]["type"] == "Add" and sorted(layers[4]["inputs"]) == ["conv2", "conv3"]
    analysis = builder.analyze(design(at))
    assert analysis.ok, analysis.error


def test_projection_fix_button_inserts_the_shortcut() -> None:
    spec = copy.deepcopy(TINY_RES)
    spec["layers"][3].update(stride=2, out_channels=32)
    at = _graph_app(spec)
    fix = at.button(key="apply_fix")
    assert "Conv2d + BatchNorm2d on the path from input into add1" in fix.label
    fix.click().run()
    assert not at.exception
    after = builder.analyze(design(at))
    assert after.ok, after.error
    assert len(at.session_state["uids"]) == len(design(at)["layers"]) == len(spec["layers"]) + 2


def test_template_inserts_a_wired_block_as_one_edit() -> None:
    from builder.templates import TEMPLATES

    stack = {
        "input_shape": [8, 16, 16],
        "layers": [{"type": "Conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1}],
    }
    at = _graph_app(stack)
    up = next(name for name in TEMPLATES if "(up)" in name)
    for name in TEMPLATES:
        if name == up:
            continue
        before = len(design(at)["layers"])
        add_template(at, name)
        assert not at.exception
        grown = design(at)
        assert len(grown["layers"]) > before, name
        assert len(at.session_state["uids"]) == len(grown["layers"])
        analysis = builder.analyze(grown)
        assert analysis.ok, (name, analysis.error)
        at.button(key="undo").click().run()
        assert len(design(at)["layers"]) == before, name
    # the up level needs an encoder output of twice its H×W: none yet, so it says so
    add_template(at, up)
    assert len(design(at)["layers"]) == 1 and at.warning
    down = next(name for name in TEMPLATES if "(down)" in name)
    add_template(at, down)
    add_template(at, up)
    analysis = builder.analyze(design(at))
    assert analysis.ok, analysis.error
    merge = next(row for row in analysis.layers if row.type == "Concat")
    assert merge.input_shapes[0][1:] == merge.input_shapes[1][1:] == (16, 16)


def test_import_tab_reads_a_residual_network_and_says_what_it_left_out() -> None:
    source = (Path(__file__).parent / "fixtures" / "importer" / "cifar_resnet.txt").read_text()
    source = source.replace(
        "        self.linear = nn.Linear",
        "        self.unused = nn.Conv2d(3, 3, 1)\n        self.linear = nn.Linear",
        1,
    )
    lenet = start()
    at = start({"d": encode_design({**design(lenet), "input_shape": [3, 32, 32]})})
    at.session_state["view"] = "Import code"
    at.run()
    at.text_area(key="import_code").set_value(source)
    at.text_input(key="import_entry").set_value("ResNet18")
    at.button(key="import_go").click().run()
    assert not at.exception
    imported = builder.analyze(design(at))
    assert imported.ok and imported.is_graph
    assert any("unused" in w.value for w in at.warning)


def test_a_drag_that_reads_a_layer_before_it_is_made_is_refused() -> None:
    from tests.test_app import drop

    at = _graph_app(TINY_RES)
    at.button(key="drag_toggle").click().run()
    before = design(at)
    merge = next(i for i, layer in enumerate(before["layers"]) if layer["type"] == "Add")
    order = [merge, *(i for i in range(len(before["layers"])) if i != merge)]  # the Add first
    drop(at, order)
    assert not at.exception
    assert design(at) == before  # not applied: the design on screen stays
    assert any("Not applied" in e.value for e in at.error), [e.value for e in at.error]
    at.run()  # the list is drawn afresh: the refused drop is not sent again
    assert not at.exception and design(at) == before and not at.error
