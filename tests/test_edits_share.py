"""builder.edits (the app's undoable edits) and builder.share (design links)."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
from hypothesis import given

import builder
from builder import edits
from builder.layers import REGISTRY
from builder.presets import preset
from builder.share import MAX_LINK_CHARS, decode_design, encode_design
from tests.strategies import specs


def test_edits_never_mutate_their_input():
    design = preset()
    frozen = json.dumps(design, sort_keys=True)
    edits.insert_layer(design, 0, {"type": "ReLU"})
    edits.delete_layer(design, 0)
    edits.move_layer(design, 0, 1)
    edits.duplicate_layer(design, 0)
    edits.set_arg(design, 0, "out_channels", 8)
    edits.set_layer_init(design, 0, "weight", {"scheme": "zeros"})
    edits.set_type_init(design, "Linear", "weight", None)
    assert json.dumps(design, sort_keys=True) == frozen


def test_every_new_layer_is_valid_somewhere():
    for layer_type in REGISTRY:
        layer = edits.new_layer(layer_type)
        if REGISTRY[layer_type].merge:  # a merge joins the input with itself in a bare design
            layer = edits.new_merge({"layers": []}, layer_type)
            assert layer["inputs"] == ["input", "input"]
        ranks = REGISTRY[layer_type].ranks or (3,)
        shape = {1: [16], 2: [3, 16], 3: [3, 8, 8]}[3 if 3 in ranks else ranks[0]]
        analysis = builder.analyze({"input_shape": shape, "layers": [layer]})
        assert analysis.ok, (layer_type, analysis.error)


def test_set_arg_drops_defaults_and_keeps_required():
    design = preset()
    out = edits.set_arg(design, 0, "stride", 1)
    assert "stride" not in out["layers"][0]
    out = edits.set_arg(design, 0, "stride", 2)
    assert out["layers"][0]["stride"] == 2
    out = edits.set_arg(out, 0, "stride", None)
    assert "stride" not in out["layers"][0]
    assert edits.set_arg(design, 0, "name", None)["layers"][0].get("name") is None


def test_move_past_ends_is_a_no_op_and_duplicate_drops_name():
    design = {"input_shape": [4], "layers": [{"type": "ReLU", "name": "act"}, {"type": "Tanh"}]}
    assert edits.move_layer(design, 0, -1) == design
    assert edits.move_layer(design, 1, 1) == design
    dup = edits.duplicate_layer(design, 0)
    assert dup["layers"][1] == {"type": "ReLU"}
    builder.load_spec(dup)


def test_apply_fix_from_analysis():
    design = preset()
    del design["layers"][6]  # the Flatten
    analysis = builder.analyze(design)
    fixed = edits.apply_fix(design, analysis.layers[analysis.error_index].fix_action)
    assert builder.analyze(fixed).total_params == 62_006
    design = preset()
    design["layers"][7]["in_features"] = 300
    analysis = builder.analyze(design)
    fixed = edits.apply_fix(design, analysis.layers[7].fix_action)
    assert builder.analyze(fixed).ok


@given(specs())
def test_share_round_trip(data):
    normal = builder.load_spec(data).to_dict()
    assert decode_design(encode_design(normal)) == normal


@pytest.mark.parametrize(
    "link, fragment",
    [
        ("", "empty"),
        ("x123", "not a NetBuilder link"),
        ("1!!!!", "damaged"),
        ("1" + "A" * (MAX_LINK_CHARS + 1), "too long"),
        (
            "1" + base64.urlsafe_b64encode(zlib.compress(b"[1, 2]")).decode(),
            "is a JSON object, got a list",
        ),
        ("1" + base64.urlsafe_b64encode(zlib.compress(b"{" * 50_000)).decode(), "damaged"),
        ("1" + base64.urlsafe_b64encode(zlib.compress(b" " * 10_000_000, 9)).decode(), "more than"),
    ],
)
def test_bad_links_give_clear_messages(link, fragment):
    with pytest.raises(builder.SpecError, match=fragment):
        decode_design(link)


def test_typical_link_is_short():
    assert len(encode_design(preset())) < 600
    assert len(encode_design(preset("AlexNet-like"))) < 1200
