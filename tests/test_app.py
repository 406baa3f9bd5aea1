"""Headless UI tests: every control driven by key through Streamlit's AppTest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import builder
from builder.presets import preset
from builder.share import encode_design

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture(autouse=True)
def _clear_cache():
    st.cache_data.clear()
    yield


def start(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for uid in range(12):  # open every card of the default LeNet (closed cards draw no widgets)
        at.session_state[f"card:{uid}"] = True
    at.session_state["teacher_panel"] = True  # and the sidebar's teacher panel
    at.run()
    assert not at.exception
    return at


def open_card(at: AppTest, uid: int) -> AppTest:
    """Open a layer's card if it is closed (adding or duplicating a layer closes the others)."""
    if not at.session_state[f"card:{uid}"]:
        at.button(key=f"head:{uid}").click().run()
    return at


def offered(at: AppTest) -> set[str]:
    """The layer types the palette offers (its rows of pills, one per category)."""
    return {o for p in at.pills if p.key and p.key.startswith("palette:") for o in p.options}


def add_layer(at: AppTest, layer_type: str) -> AppTest:
    """Click a layer type in the palette (one row of pills per category)."""
    from builder.layers import REGISTRY

    return _pill(at, f"palette:{REGISTRY[layer_type].category}:").set_value(layer_type).run()


def add_template(at: AppTest, name: str) -> AppTest:
    """Click a block (a residual block, an Inception module ...) in the palette."""
    return _pill(at, "tpl:").set_value(name).run()


def _pill(at: AppTest, prefix: str):
    """The palette's row of pills whose key starts with ``prefix`` (the keys change after each
    pick, so every row is drawn with nothing selected)."""
    return next(p for p in at.pills if p.key and p.key.startswith(prefix))


def charts(at: AppTest) -> list:
    """The tabs' Plotly charts (the live diagram above the stack left out)."""
    return [c for c in at.get("plotly_chart") if "diagram_pick" not in c.proto.id]


def diagram(at: AppTest) -> dict:
    """The live diagram's figure."""
    chart = next(c for c in at.get("plotly_chart") if "diagram_pick" in c.proto.id)
    return json.loads(chart.proto.spec)


def plain(text: str) -> str:
    """Markdown source as the reader sees it (the app backslash-escapes user text)."""
    return re.sub(r"\\(.)", r"\1", text)


def table(at: AppTest):
    return at.table[0].value


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def shapes(at: AppTest) -> list[str]:
    return [s.replace("\u00a0", " ") for s in table(at)["output shape"]][1:]


def design(at: AppTest) -> dict:
    return at.session_state["design"]


def expected(data: dict) -> builder.Analysis:
    return builder.analyze(data)


def test_default_is_the_article_lenet():
    at = start()
    assert metric(at, "Parameters") == "62,006"
    assert metric(at, "Trainable") == "62,006"
    assert shapes(at)[5] == "(16, 5, 5)"
    assert list(table(at)["name"])[1:4] == ["conv1", "relu1", "pool1"]
    assert not at.error


def test_edit_conv_out_channels_updates_shapes_and_totals():
    at = start()
    at.number_input(key="w:0:out_channels").set_value(8).run()
    assert not at.exception
    assert shapes(at)[0] == "(8, 28, 28)"
    now = design(at)
    assert now["layers"][0]["out_channels"] == 8
    assert metric(at, "Parameters") == f"{expected(now).total_params:,}"
    assert table(at)["params"][1] == f"{8 * 3 * 5 * 5 + 8:,}"


def test_kernel_is_square_until_unlinked():
    at = start()
    assert at.toggle(key="w:0:square").value  # linked by default
    at.number_input(key="w:0:kernel_size:h").set_value(3).run()
    assert design(at)["layers"][0]["kernel_size"] == 3  # one box sets both axes
    assert at.number_input(key="w:0:kernel_size:w").value == 3
    assert shapes(at)[0] == "(6, 30, 30)"
    at.button(key="undo").click().run()
    assert design(at)["layers"][0]["kernel_size"] == 5
    assert not at.exception


def test_edit_kernel_rectangular_and_padding_same():
    at = start()
    at.toggle(key="w:0:square").set_value(False).run()
    at.number_input(key="w:0:kernel_size:w").set_value(3).run()
    assert design(at)["layers"][0]["kernel_size"] == [5, 3]
    assert shapes(at)[0] == "(6, 28, 30)"
    at.selectbox(key="w:0:padding:mode").set_value("same").run()
    assert design(at)["layers"][0]["padding"] == "same"
    assert shapes(at)[0] == "(6, 32, 32)"
    assert not at.exception


def test_add_layer_at_end_and_after_selected():
    at = start()
    add_layer(at, "Dropout")
    assert design(at)["layers"][-1] == {"type": "Dropout"}
    assert list(table(at)["name"])[-1] == "drop1"
    # the new layer's card is the only one open: the stack stays one screen
    heads = [b for b in at.button if b.key and b.key.startswith("head:")]
    assert [b.key for b in heads if at.session_state[f"card:{b.key[5:]}"]] == ["head:12"]
    # select pool2 (uid 5) and add a BatchNorm2d after it
    at.button(key="head:5").click().run()
    at.button(key="sel:5").click().run()
    at.radio(key="palette_where").set_value("after the selected layer").run()
    add_layer(at, "BatchNorm2d")
    assert [layer["type"] for layer in design(at)["layers"]][5:8] == [
        "MaxPool2d",
        "BatchNorm2d",
        "Flatten",
    ]
    assert metric(at, "Buffers") == "33"
    assert metric(at, "Parameters") == "62,038"
    assert not at.exception


def test_move_duplicate_delete_undo_redo():
    at = start()
    at.button(key="down:0").click().run()  # conv1 below relu1
    assert [layer["type"] for layer in design(at)["layers"]][:2] == ["ReLU", "Conv2d"]
    at.button(key="up:0").click().run()
    assert [layer["type"] for layer in design(at)["layers"]][:2] == ["Conv2d", "ReLU"]
    at.button(key="dup:3").click().run()  # duplicate conv2: 16 -> 16 channels, 3x3 smaller
    names = list(table(at)["name"])[1:]
    assert names[3:5] == ["conv2", "conv3"]
    assert shapes(at)[4] == "(16, 6, 6)"
    open_card(at, 7).button(key="del:7").click().run()  # delete fc1: fc2 now infers 400
    assert "fc1" not in [layer.get("name") for layer in design(at)["layers"]]
    assert not at.exception
    before = json.dumps(design(at))
    at.button(key="undo").click().run()
    assert len(design(at)["layers"]) == 13
    at.button(key="redo").click().run()
    assert json.dumps(design(at)) == before
    for _ in range(4):
        at.button(key="undo").click().run()
    assert design(at) == preset()
    assert at.button(key="undo").disabled
    assert not at.exception


def test_widgets_follow_layer_uid_after_delete():
    at = start()
    at.button(key="del:0").click().run()  # delete conv1; conv2 keeps its widgets (uid 3)
    assert at.number_input(key="w:3:out_channels").value == 16
    at.number_input(key="w:3:out_channels").set_value(12).run()
    conv = [layer for layer in design(at)["layers"] if layer["type"] == "Conv2d"]
    assert conv == [{"type": "Conv2d", "out_channels": 12, "kernel_size": 5}]


def test_shape_error_marks_layer_and_fix_applies():
    at = start()
    at.button(key="del:6").click().run()  # delete the Flatten: fc1 gets a 4-D input
    assert not at.exception
    table_now = table(at)
    assert table_now["status"][7].startswith("✖")
    assert any("layer 7 (fc1): Linear needs a flat input" in plain(e.value) for e in at.error)
    fix = at.button(key="apply_fix")
    assert fix.label == "Fix: add a Flatten before fc1"  # the one edit it makes, nothing else
    fix.click().run()
    assert metric(at, "Parameters") == "62,006"
    assert not at.error
    at.button(key="undo").click().run()
    assert any("Linear needs a flat input" in plain(e.value) for e in at.error)


def test_kernel_too_large_message_names_layer_and_field():
    at = start()
    at.number_input(key="w:3:kernel_size:h").set_value(20).run()
    errors = " ".join(plain(e.value) for e in at.error)
    assert "layer 4 (conv2)" in errors and "kernel" in errors
    assert metric(at, "Parameters") != "—"
    assert not at.exception


def test_invalid_field_keeps_design_and_explains():
    at = start()
    at.text_input(key="w:0:name").input("forward").run()
    assert not at.exception
    assert any("name 'forward' is reserved" in plain(e.value) for e in at.error)
    # refused at the field: the design on screen (and in the link) stays one that opens
    assert "name" not in design(at)["layers"][0]
    assert at.text_input(key="w:0:name").value == ""
    assert at.query_params["d"] == encode_design(design(at))
    assert builder.load_spec(design(at))
    at.text_input(key="w:0:name").input("features").run()
    assert not at.error
    assert list(table(at)["name"])[1] == "features"


def test_preset_picker():
    at = start()
    at.selectbox(key="preset_choice").set_value("VGG block with BatchNorm").run()
    at.button(key="load_preset").click().run()
    data = preset("VGG block with BatchNorm")
    assert metric(at, "Parameters") == f"{expected(data).total_params:,}"
    assert metric(at, "Buffers") == f"{expected(data).total_buffers:,}"
    at.selectbox(key="preset_choice").set_value("empty").run()
    at.button(key="load_preset").click().run()
    assert design(at)["layers"] == []
    assert not at.exception
    at.button(key="undo").click().run()
    assert design(at)["name"] == "VGGBlock"


def test_input_shape_and_seed():
    at = start()
    at.number_input(key="w:in_H").set_value(28).run()
    at.number_input(key="w:in_W").set_value(28).run()
    assert design(at)["input_shape"] == [3, 28, 28]
    assert shapes(at)[5] == "(16, 4, 4)"
    at.number_input(key="w:seed").set_value(3).run()
    assert design(at)["seed"] == 3
    at.radio(key="w:input_kind").set_value("flat [F]").run()
    assert design(at)["input_shape"] == [3 * 28 * 28]
    assert any("Conv2d needs a [C, H, W] input" in plain(e.value) for e in at.error)
    assert not at.exception


def test_type_init_change_and_layer_override():
    at = start()
    at.selectbox(key="w:init:Conv2d:weight:scheme").set_value("kaiming_normal").run()
    at.selectbox(key="w:init:Conv2d:weight:nonlinearity").set_value("relu").run()
    assert design(at)["init"]["Conv2d"]["weight"] == {
        "scheme": "kaiming_normal",
        "nonlinearity": "relu",
    }
    at.checkbox(key="w:7:init:weight:on").check().run()
    at.selectbox(key="w:7:init:weight:scheme").set_value("xavier_uniform").run()
    assert design(at)["layers"][7]["init"] == {"weight": {"scheme": "xavier_uniform"}}
    model = builder.build_model(design(at))
    assert model.init_plan["fc1.weight"]["scheme"] == "xavier_uniform"
    assert model.init_plan["fc2.weight"]["scheme"] == "normal"
    at.checkbox(key="w:7:init:weight:on").uncheck().run()
    assert "init" not in design(at)["layers"][7]
    assert not at.exception


def test_upload_good_and_bad_json():
    at = start()
    good = json.dumps(preset("MLP")).encode()
    at.file_uploader(key="upload").upload("mlp.json", good, "application/json").run()
    assert not at.exception
    assert metric(at, "Parameters") == f"{expected(preset('MLP')).total_params:,}"
    at = start()
    bad = json.dumps({"input_shape": [3, 8, 8], "layers": [{"type": "Conv2d", "kernel_size": -1}]})
    at.file_uploader(key="upload").upload("bad.json", bad.encode(), "application/json").run()
    assert not at.exception
    assert any(
        "Could not load that file" in e.value and "layer 1 (conv1)" in plain(e.value)
        for e in at.error
    )
    assert metric(at, "Parameters") == "62,006"
    at = start()
    at.file_uploader(key="upload").upload("junk.json", b"\xff\xfe{", "application/json").run()
    assert any("Could not load that file" in plain(e.value) for e in at.error)
    assert metric(at, "Parameters") == "62,006"


def test_share_link_good_bad_and_kept_in_url():
    at = start({"d": encode_design(preset("MLP"))})
    assert metric(at, "Parameters") == f"{expected(preset('MLP')).total_params:,}"
    assert any("shared link" in t.value for t in at.toast)
    at = start({"d": "1garbage!!"})
    assert any("could not be opened" in plain(e.value) for e in at.error)
    assert metric(at, "Parameters") == "62,006"
    at = start({"d": "1" + "A" * 100_000})
    assert any("too long" in plain(e.value) for e in at.error)
    assert metric(at, "Parameters") == "62,006"
    at.number_input(key="w:0:out_channels").set_value(8).run()
    assert at.query_params["d"] == encode_design(design(at))
    # sharing is a Copy link button (the full address), never a blob of the packed design
    assert not any("?d=" in c.value for c in at.code)
    copies = [h.proto.body for h in at.get("html") if "<button" in h.proto.body]
    assert len(copies) == 2 and all("window.location" in body for body in copies)


def _open(at: AppTest, tab: str) -> AppTest:
    at.session_state["view"] = tab
    at.run()
    assert not at.exception
    return at


def test_code_tab_shows_exported_class():
    at = _open(start(), "Code")
    code = next(c.value for c in at.code if "class LeNet(nn.Module)" in c.value)
    assert "self.conv1 = nn.Conv2d(3, 6, 5)" in code
    assert "def initialize_weights(self)" in code
    at.toggle(key="functional").set_value(True).run()
    code = next(c.value for c in at.code if "class LeNet(nn.Module)" in c.value)
    assert "F.relu(" in code


def test_model_tab_prints_the_network():
    at = _open(start(), "Model")
    texts = [c.value for c in at.code]
    assert any(t.startswith("LeNet(\n  (conv1): Conv2d(3, 6, kernel_size=(5, 5)") for t in texts)
    assert any("conv1.weight.shape = torch.Size([6, 3, 5, 5])" in t for t in texts)
    assert any("conv1.bias.shape = torch.Size([6])" in t for t in texts)


def test_histogram_and_signal_tabs_render():
    at = _open(start(), "Histograms")
    spec = json.loads(charts(at)[0].proto.spec)
    assert len(spec["data"]) >= 10
    at = _open(at, "Signal")
    spec = json.loads(charts(at)[0].proto.spec)
    assert spec["data"]


def test_explain_shows_the_arithmetic():
    at = start()
    at.selectbox(key="explain").set_value("1. conv1").run()
    text = " ".join(c.value for c in at.code)
    assert "6·3·5·5 + 6 = 456" in text
    assert "floor((32 + 2·0 − 1·(5−1) − 1) / 1) + 1 = 28" in text


def test_keep_size_hint_is_one_undoable_edit():
    at = start()
    at.number_input(key="w:in_H").set_value(28).run()
    at.number_input(key="w:in_W").set_value(28).run()
    hint = at.button(key="hint:0")
    assert hint.label == "add padding=2 to keep 28×28"
    hint.click().run()
    assert design(at)["layers"][0]["padding"] == 2
    assert shapes(at)[0] == "(6, 28, 28)"
    at.button(key="undo").click().run()
    assert "padding" not in design(at)["layers"][0]


def test_assignment_link_shows_live_checks_and_locks():
    from builder.assignment import encode_assignment, load_assignment

    assignment = load_assignment(
        {
            "title": "Lab 1",
            "max_params": 60_000,
            "output_shape": [10],
            "allowed_types": ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"],
            "locked": ["input_shape"],
        }
    )
    at = start({"a": encode_assignment(assignment)})
    panel = " ".join(plain(m.value) for m in at.markdown)
    assert "Lab 1" in panel and ":red[✖] at most 60,000 parameters — 62,006 of 60,000" in panel
    assert ":green[✔] output shape (10,)" in panel
    assert at.number_input(key="w:in_H").disabled
    assert "Dropout" not in offered(at) and "Conv2d" in offered(at)  # only allowed types
    at.number_input(key="w:7:out_features").set_value(110).run()  # fc1: 48,120 -> 44,110
    panel = " ".join(plain(m.value) for m in at.markdown)
    total = expected(design(at)).total_params
    assert f":green[✔] at most 60,000 parameters — {total:,} of 60,000" in panel
    assert not at.exception


def test_teacher_makes_an_assignment():
    from builder.assignment import encode_assignment

    at = start()
    at.number_input(key="as_budget").set_value(50_000).run()
    at.multiselect(key="as_locked").set_value(["seed"]).run()
    at.button(key="as_make").click().run()
    assignment = at.session_state["assignment"]
    assert assignment.max_params == 50_000 and assignment.locked == ("seed",)
    assert at.number_input(key="w:seed").disabled
    # a button that copies the full link (the page's address with ?a=...&d=...), no blob
    query = f"?a={encode_assignment(assignment)}&d={encode_design(design(at))}"
    assert any(json.dumps(query) in h.proto.body for h in at.get("html"))
    assert not any("?a=1" in c.value for c in at.code)


def test_bad_assignment_link_keeps_the_design():
    at = start({"a": "1garbage"})
    assert any("assignment" in plain(e.value) for e in at.error)
    assert metric(at, "Parameters") == "62,006"


def test_compare_tab():
    at = _open(start(), "Compare")
    at.selectbox(key="compare_with").set_value("MLP").run()
    values = [m.value for m in at.metric if m.label == "Parameters"]
    assert values[-2:] == ["62,006", f"{expected(preset('MLP')).total_params:,}"]
    at.button(key="pin").click().run()
    at.number_input(key="w:0:out_channels").set_value(8).run()
    at.selectbox(key="compare_with").set_value("the pinned design").run()
    values = [m.value for m in at.metric if m.label == "Parameters"]
    assert values[-1] == "62,006" and values[-2] == f"{expected(design(at)).total_params:,}"
    at.toggle(key="compare_hist").set_value(True).run()
    assert len(charts(at)) == 2
    assert not at.exception


def test_presentation_mode_hides_controls():
    at = start({"present": "1"})
    assert metric(at, "Parameters") == "62,006"
    assert shapes(at)[5] == "(16, 5, 5)"
    keys = {b.key for b in at.button}
    assert not offered(at) and "del:0" not in keys
    at.session_state["view"] = "Code"
    at.run()
    assert any("class LeNet(nn.Module)" in c.value for c in at.code)
    assert not at.exception


def test_signal_compares_two_plans():
    at = _open(start(), "Signal")
    at.selectbox(key="signal_other").set_value("N(0, 0.01) everywhere").run()
    spec = json.loads(charts(at)[0].proto.spec)
    assert len(spec["data"]) >= 2
    assert not at.exception


ARTICLE_NET = (Path(__file__).parent / "fixtures" / "article_net.txt").read_text(encoding="utf-8")


def test_import_code_good_and_bad():
    at = start()
    at.selectbox(key="preset_choice").set_value("empty").run()
    at.button(key="load_preset").click().run()
    _open(at, "Import code")
    assert any("optional initialize_weights. It" in t.value for t in at.text)  # no Markdown
    at.text_area(key="import_code").input(ARTICLE_NET).run()
    at.button(key="import_go").click().run()
    assert not at.exception
    assert metric(at, "Parameters") == "62,006"
    assert [layer["type"] for layer in design(at)["layers"]].count("ReLU") == 4
    assert design(at)["init"]["Linear"]["weight"]["scheme"] == "normal"
    bad = ARTICLE_NET.replace("self.fc3 = nn.Linear(84, 10)", "self.fc3 = MyHead(84, 10)")
    bad_line = next(i for i, text in enumerate(bad.splitlines(), 1) if "MyHead" in text)
    at.text_area(key="import_code").input(bad).run()
    at.button(key="import_go").click().run()
    messages = " ".join(plain(e.value) for e in at.error)
    assert (
        "Could not import that code" in messages
        and f"line {bad_line}: cannot read 'self.fc3 = MyHead(84, 10)'" in messages
    )
    assert metric(at, "Parameters") == "62,006"
    assert not at.exception


def test_sizes_tab_memory_and_receptive_field():
    from builder.memory import memory_estimate

    at = _open(start(), "Sizes & memory")
    assert len(charts(at)) == 2
    at.number_input(key="mem_batch").set_value(128).run()
    estimate = memory_estimate(preset(), 128, "float32", "adam")
    from builder.memory import format_bytes

    assert metric(at, "total") == format_bytes(estimate.total)
    assert metric(at, "parameters") == format_bytes(62_006 * 4)
    assert any("24 GB: fits" in plain(m.value) for m in at.markdown)
    assert not at.exception


def test_diagram_tab():
    at = _open(start(), "Diagram")
    assert len(at.get("imgs")) == 1 or at.get("image")
    assert not at.exception


def test_train_tab_runs_and_keeps_its_curves():
    at = _open(start(), "Train")
    at.number_input(key="train_epochs").set_value(1).run()
    at.button(key="train_go").click().run()
    assert not at.exception
    summary = " ".join(c.value for c in at.caption)
    assert "held-out accuracy after 1 epoch(s)" in summary
    figure = json.loads(charts(at)[0].proto.spec)
    assert figure["data"]
    at.run()  # a rerun keeps the last run's curves for the same design
    assert "held-out accuracy after 1 epoch(s)" in " ".join(c.value for c in at.caption)


def test_train_tab_refuses_a_design_without_ten_outputs():
    at = _open(start(), "Train")
    at.number_input(key="w:11:out_features").set_value(5).run()
    at.button(key="train_go").click().run()
    assert any("10" in plain(e.value) for e in at.error)
    assert not at.exception


def test_live_diagram_draws_every_layer_and_highlights_the_selected_one():
    import plotly.graph_objects as go

    from builder.diagram import diagram_layout

    at = start()
    bars = diagram(at)["data"][0]
    meta = bars["customdata"]
    assert sorted({m[0] for m in meta}) == list(range(13))  # the input and every layer
    for block in diagram_layout(design(at)).blocks:  # drawn at the layout's sizes
        front = max(k for k, m in enumerate(meta) if m[0] == block.index)
        assert (bars["width"][front], bars["y"][front]) == (
            round(block.width, 1),
            round(block.height, 1),
        )
    assert bars.get("selectedpoints") is None
    at.button(key="sel:3").click().run()  # conv2, the 4th layer
    go.Figure(diagram(at))  # built without plotly's checks: every property must be valid
    bars = diagram(at)["data"][0]
    assert bars["selectedpoints"] == [k for k, m in enumerate(meta) if m[0] == 4]
    assert not at.exception


def test_presentation_walks_the_network_one_layer_at_a_time():
    at = start({"present": "1"})
    assert any("Press **Next**" in m.value for m in at.markdown)
    at.button(key="walk_next").click().run()  # the first layer: conv1
    assert any("Layer 1 of 12: conv1" in plain(m.value) for m in at.markdown)
    row = expected(design(at)).layers[0]
    walk = " ".join(c.value for c in at.code)
    assert f"output size: {row.shape_formula}" in walk and row.shape_formula.endswith("= 28")
    assert f"parameters: {row.param_formula}" in walk and row.param_formula.endswith("= 456")
    assert at.button(key="walk_prev").disabled
    meta = diagram(at)["data"][0]["customdata"]
    assert diagram(at)["data"][0]["selectedpoints"] == [k for k, m in enumerate(meta) if m[0] == 1]
    at.button(key="walk_next").click().run()
    assert any("Layer 2 of 12: relu1" in plain(m.value) for m in at.markdown)
    for _ in range(10):
        at.button(key="walk_next").click().run()
    assert any("Layer 12 of 12: fc3" in plain(m.value) for m in at.markdown)
    assert at.button(key="walk_next").disabled
    assert "apply_fix" not in {b.key for b in at.button}
    assert not at.exception


def test_large_counts_are_compact_with_the_exact_value_in_the_tooltip():
    data = preset("AlexNet-like")
    total = expected(data).total_params
    assert total >= 1_000_000
    at = start({"d": encode_design(data)})
    card = next(m for m in at.metric if m.label == "Parameters")
    number, unit = card.value.split()
    assert unit == "M" and abs(float(number) * 1e6 - total) <= 0.005 * total  # 3 digits
    assert len(number.replace(".", "")) == 3 and f"{total:,}" in card.help


def test_training_comparison_loss_on_a_log_axis():
    at = _open(start(), "Train")
    at.number_input(key="train_epochs").set_value(1).run()
    at.selectbox(key="train_other").set_value("N(0, 1) everywhere").run()
    at.button(key="train_go").click().run()
    assert not at.exception
    figure = json.loads(charts(at)[0].proto.spec)
    losses = [y for t in figure["data"] if t.get("yaxis", "y") == "y" for y in t["y"]]
    assert max(losses) / min(losses) > 100  # N(0, 1) starts thousands of times higher
    assert figure["layout"]["yaxis"]["type"] == "log"
    assert figure["layout"]["yaxis2"].get("type", "linear") == "linear"  # accuracy, 0-100 %


def test_memory_chart_in_the_unit_of_its_numbers():
    from builder.memory import memory_estimate

    at = _open(start(), "Sizes & memory")
    estimate = memory_estimate(preset(), 64, "float32", "adam")
    assert 1e6 <= estimate.total < 1e9  # megabytes, not gigabytes
    figure = json.loads(charts(at)[1].proto.spec)
    assert figure["layout"]["xaxis"]["title"]["text"] == "MB"
    bars = [t["x"][0] for t in figure["data"] if t["type"] == "bar"]
    assert sum(bars) == pytest.approx(estimate.total / 1e6, rel=1e-4)
    receptive = json.loads(charts(at)[0].proto.spec)  # its reference line's label: the legend
    assert not receptive["layout"].get("annotations")
    assert any(t.get("name", "").startswith("image height") for t in receptive["data"])


def _npz(classes: int, samples: int = 300) -> bytes:
    import io

    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = digits.target < classes
    buffer = io.BytesIO()
    np.savez(buffer, x=digits.images[keep][:samples], y=digits.target[keep][:samples])
    return buffer.getvalue()


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="train_source").set_value("Upload a file").run()
    at.file_uploader(key="train_upload").set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception
    return at


def test_train_tab_trains_on_an_uploaded_npz_and_shows_what_it_learned():
    at = _upload(_open(start(), "Train"), "ten.npz", _npz(10))
    assert any("300 samples of 1×8×8, 10 classes" in plain(c.value) for c in at.caption)
    at.number_input(key="train_epochs").set_value(1).run()
    at.button(key="train_go").click().run()
    assert not at.exception
    assert any("held-out accuracy after 1 epoch(s)" in c.value for c in at.caption)
    figure = json.loads(charts(at)[0].proto.spec)
    assert "ten.npz" in plain(figure["layout"]["title"]["text"])
    assert "What it learned" in [s.value for s in at.subheader]
    confusion = json.loads(charts(at)[1].proto.spec)["data"][0]
    assert sum(map(sum, confusion["z"])) == 75  # a quarter of the 300 held out
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download trained weights (.pt)" in labels and "Download curves (.csv)" in labels
    assert "Download training script (.py)" in labels


def test_train_tab_refuses_a_bad_upload_and_fixes_the_output_size():
    at = _upload(_open(start(), "Train"), "bad.csv", b"label,a\n1,x\n")
    assert any("bad" in plain(e.value) and "is not a number" in plain(e.value) for e in at.error)
    assert at.button(key="train_go").disabled
    at = _upload(at, "three.npz", _npz(3))
    assert any("3 classes" in plain(w.value) for w in at.warning)
    at.button(key="train_fix_outputs").click().run()
    assert not at.exception
    assert builder.analyze(at.session_state.design).output_shape == (3,)
    assert not at.warning


def test_sizes_tab_shows_the_estimates_peak_and_reserved_memory():
    """The cards show the estimate's own peak and reserved bytes (not a sum of its parts)."""
    from builder.memory import format_bytes, memory_estimate

    at = _open(start(), "Sizes & memory")
    batch = int(at.number_input(key="mem_batch").value)
    dtype, optimizer = at.selectbox(key="mem_dtype").value, at.selectbox(key="mem_opt").value
    estimate = memory_estimate(design(at), batch, dtype, optimizer)
    shown = [m.value for m in at.metric]
    assert format_bytes(estimate.peak) in shown
    assert format_bytes(estimate.reserved) in shown
    assert format_bytes(estimate.total) in shown


def test_keyboard_buttons_step_the_selection_and_delete_the_selected_layer():
    """The hidden buttons the arrow keys and Delete press (ui.style.KEYBOARD_JS)."""
    at = start()
    at.button(key="kb_down").click().run()  # nothing selected: the first layer
    assert at.session_state["selected"] == 0
    at.button(key="kb_down").click().run()
    uids = at.session_state["uids"]
    assert at.session_state["selected"] == 1
    assert [u for u in uids if at.session_state[f"card:{u}"]] == [1]  # its card alone is open
    at.button(key="kb_delete").click().run()  # relu1 goes, pool1 takes its place
    assert [layer["type"] for layer in design(at)["layers"][:3]] == [
        "Conv2d",
        "MaxPool2d",
        "Conv2d",
    ]
    assert at.session_state["selected"] == 2 and at.session_state["card:2"]
    assert builder.analyze(design(at)).total_params == builder.analyze(preset()).total_params
    at.button(key="kb_up").click().run()
    at.button(key="kb_up").click().run()  # clamped at the first layer
    assert at.session_state["selected"] == 0
    at.button(key="undo").click().run()
    assert [layer["type"] for layer in design(at)["layers"]] == [
        layer["type"] for layer in preset()["layers"]
    ]


def drop(at: AppTest, order: list[int]) -> AppTest:
    """Send what the sortable list sends after a drag: the layers' labels in ``order`` (old
    indices), under the key of the list on screen (``ui.stack.drag_list``)."""
    rows = builder.analyze(design(at)).layers
    labels = [f"{i + 1}. {row.name} · {row.type}" for i, row in enumerate(rows)]
    (key,) = [k for k in at.session_state if str(k).startswith("drag:")]
    at.session_state[key] = [{"header": None, "items": [labels[i] for i in order]}]
    return at.run()


def test_drag_mode_reorders_as_one_undoable_edit():
    at = start()
    at.button(key="drag_toggle").click().run()
    assert not [b for b in at.button if b.key and b.key.startswith("head:")]  # the list instead
    before = design(at)
    order = [0, 2, 1, *range(3, 12)]  # pool1 before relu1
    drop(at, order)
    assert not at.exception
    assert design(at)["layers"] == [before["layers"][i] for i in order]
    assert at.session_state["uids"][:3] == [0, 2, 1]
    params = builder.analyze(design(at)).total_params
    assert params == builder.analyze(before).total_params  # ReLU and a pool commute here
    at.button(key="undo").click().run()
    assert design(at) == before
    key = next(k for k in at.session_state if str(k).startswith("drag:"))
    at.session_state[key] = "not a list"  # what a hostile page could send: ignored
    at.run()
    assert not at.exception and design(at) == before
    key = next(k for k in at.session_state if str(k).startswith("drag:"))
    at.session_state[key] = [{"header": None, "items": ["x"] * 100_000}]  # too long: not sorted
    at.run()
    assert not at.exception and design(at) == before
    at.button(key="drag_toggle").click().run()
    assert at.button(key="head:0")
