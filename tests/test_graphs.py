"""Graphs (SPEC.md "Graphs"): ``inputs``, ``Add`` and ``Concat`` against hand-written torch.

The oracles: modules written by hand in plain torch with the same layer names and construction
order (so ``torch.manual_seed(seed)`` gives them the same weights), their forward passes, and
``sum(p.numel())``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from builder import analyze, build_model
from builder.edits import apply_fix, delete_layer, insert_layer, move_layer, rename_layer
from builder.errors import SpecError
from builder.spec import load_spec

TINY_RES = {
    "name": "TinyRes",
    "input_shape": [16, 32, 32],
    "seed": 3,
    "layers": [
        {"type": "Conv2d", "name": "conv1", "out_channels": 16, "kernel_size": 3, "padding": 1},
        {"type": "BatchNorm2d"},
        {"type": "ReLU"},
        {"type": "Conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1},
        {"type": "BatchNorm2d"},
        {"type": "Add", "inputs": ["bn2", "input"]},
        {"type": "ReLU"},
        {
            "type": "Conv2d",
            "name": "branch",
            "inputs": ["relu2"],
            "out_channels": 8,
            "kernel_size": 1,
        },
        {"type": "Concat", "inputs": ["relu2", "branch"]},
    ],
}


class HandTinyRes(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(16, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.relu2 = nn.ReLU()
        self.branch = nn.Conv2d(16, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = self.relu2(out + identity)
        return torch.cat((out, self.branch(out)), dim=1)


INCEPTION = {
    "input_shape": [8, 12, 12],
    "seed": 11,
    "layers": [
        {"type": "Conv2d", "name": "b1", "out_channels": 4, "kernel_size": 1},
        {"type": "Conv2d", "name": "b2a", "inputs": ["input"], "out_channels": 3, "kernel_size": 1},
        {"type": "Conv2d", "name": "b2b", "out_channels": 6, "kernel_size": 3, "padding": 1},
        {"type": "Conv2d", "name": "b3a", "inputs": ["input"], "out_channels": 2, "kernel_size": 1},
        {"type": "Conv2d", "name": "b3b", "out_channels": 5, "kernel_size": 5, "padding": 2},
        {
            "type": "MaxPool2d",
            "name": "b4a",
            "inputs": ["input"],
            "kernel_size": 3,
            "stride": 1,
            "padding": 1,
        },
        {"type": "Conv2d", "name": "b4b", "out_channels": 3, "kernel_size": 1},
        {"type": "Concat", "name": "mixed", "inputs": ["b1", "b2b", "b3b", "b4b"]},
        {"type": "AdaptiveAvgPool2d", "output_size": 1},
        {"type": "Flatten"},
        {"type": "Linear", "out_features": 10},
    ],
}


class HandInception(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b2a = nn.Conv2d(8, 3, 1)
        self.b2b = nn.Conv2d(3, 6, 3, padding=1)
        self.b3a = nn.Conv2d(8, 2, 1)
        self.b3b = nn.Conv2d(2, 5, 5, padding=2)
        self.b4a = nn.MaxPool2d(3, 1, 1)
        self.b4b = nn.Conv2d(8, 3, 1)
        self.pool1 = nn.AdaptiveAvgPool2d(1)
        self.flatten1 = nn.Flatten()
        self.fc1 = nn.Linear(18, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = (self.b1(x), self.b2b(self.b2a(x)), self.b3b(self.b3a(x)), self.b4b(self.b4a(x)))
        return self.fc1(self.flatten1(self.pool1(torch.cat(parts, dim=1))))


UNET = {
    "input_shape": [1, 16, 16],
    "seed": 5,
    "layers": [
        {"type": "Conv2d", "name": "enc", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "ReLU", "name": "enc_act"},
        {"type": "MaxPool2d", "kernel_size": 2},
        {"type": "Conv2d", "name": "mid", "out_channels": 8, "kernel_size": 3, "padding": 1},
        {"type": "ReLU"},
        {"type": "ConvTranspose2d", "name": "up", "out_channels": 4, "kernel_size": 2, "stride": 2},
        {"type": "Concat", "name": "skip", "inputs": ["enc_act", "up"]},
        {"type": "Conv2d", "name": "dec", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "Conv2d", "name": "head", "out_channels": 2, "kernel_size": 1},
    ],
}


class HandUNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Conv2d(1, 4, 3, padding=1)
        self.enc_act = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.mid = nn.Conv2d(4, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.dec = nn.Conv2d(8, 4, 3, padding=1)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.enc_act(self.enc(x))
        out = self.up(self.relu1(self.mid(self.pool1(skip))))
        return self.head(self.dec(torch.cat((skip, out), dim=1)))


CASES = [(TINY_RES, HandTinyRes), (INCEPTION, HandInception), (UNET, HandUNet)]


@pytest.mark.parametrize(("spec", "hand"), CASES, ids=["resnet", "inception", "unet"])
def test_graph_matches_hand_written_torch(spec: dict[str, Any], hand: type[nn.Module]) -> None:
    net = build_model(spec)
    torch.manual_seed(spec["seed"])
    oracle = hand()
    mine, theirs = net.state_dict(), oracle.state_dict()
    assert list(mine) == list(theirs)
    for key in theirs:
        assert torch.equal(mine[key], theirs[key]), key
    analysis = analyze(spec)
    assert analysis.ok and analysis.is_graph
    assert analysis.total_params == sum(p.numel() for p in oracle.parameters())
    x = torch.randn(3, *spec["input_shape"])
    net.eval()
    oracle.eval()
    with torch.no_grad():
        out = net(x)
        assert torch.equal(out, oracle(x))
    assert tuple(out.shape[1:]) == analysis.output_shape


def test_rows_carry_inputs_and_readers() -> None:
    analysis = analyze(TINY_RES)
    rows = {row.name: row for row in analysis.layers}
    assert rows["conv1"].inputs == ("input",)
    assert rows["add1"].inputs == ("bn2", "input")
    assert rows["add1"].input_shapes == ((16, 32, 32), (16, 32, 32))
    assert rows["relu2"].used_by == ("branch", "cat1")
    assert rows["cat1"].output_shape == (24, 32, 32)
    assert "16 + 8 = 24" in rows["cat1"].shape_formula
    assert list(analysis.to_frame()["inputs"])[5] == "bn2, input"
    # a plain stack reads as before
    assert not analyze({"input_shape": [4], "layers": [{"type": "ReLU"}]}).is_graph


def test_merges_hold_no_state() -> None:
    net = build_model(TINY_RES)
    assert not any(k.startswith(("add1", "cat1")) for k in net.state_dict())
    names = [n for n, _ in net.named_children()]
    assert names == [layer.name for layer in load_spec(TINY_RES).layers]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"inputs": ["nope", "input"]}, "no earlier layer is named 'nope'"),
        ({"inputs": ["bn2", "relu2"]}, "is layer 7, after this one"),
        ({"inputs": ["add1", "bn2"]}, "cannot take its own output"),
        ({"inputs": "bn2"}, "must be a list of layer names"),
        ({"inputs": ["bn2"]}, "Add takes 2 to"),
    ],
)
def test_bad_inputs_name_the_layer_and_field(change: dict[str, Any], message: str) -> None:
    spec = copy.deepcopy(TINY_RES)
    spec["layers"][5].update(change)
    with pytest.raises(SpecError, match="layer 6 \\(add1\\)") as caught:
        load_spec(spec)
    assert "inputs" in str(caught.value)
    assert message in str(caught.value)


def test_other_input_rules() -> None:
    spec = copy.deepcopy(TINY_RES)
    spec["layers"][6]["inputs"] = ["add1", "bn1"]
    with pytest.raises(SpecError, match="layer 7 \\(relu2\\): inputs: ReLU takes exactly one"):
        load_spec(spec)
    spec = copy.deepcopy(TINY_RES)
    del spec["layers"][5]["inputs"]
    with pytest.raises(SpecError, match="Add joins 2 or more inputs"):
        load_spec(spec)
    spec = copy.deepcopy(TINY_RES)
    spec["layers"][0]["name"] = "input"
    with pytest.raises(SpecError, match="reserved"):
        load_spec(spec)
    assert load_spec(TINY_RES).to_dict()["layers"][5]["inputs"] == ["bn2", "input"]
    assert "inputs" not in load_spec(TINY_RES).to_dict()["layers"][4]


def _fixed_runs(spec: dict[str, Any]) -> dict[str, Any]:
    """Apply the first error's fix; the result must analyse cleanly and run in torch."""
    analysis = analyze(spec)
    assert not analysis.ok
    row = analysis.layers[analysis.error_index]
    assert row.fix_action is not None, row.error
    fixed = apply_fix(spec, row.fix_action)
    after = analyze(fixed)
    assert after.ok, after.error
    net = build_model(fixed).eval()
    with torch.no_grad():
        out = net(torch.randn(2, *fixed["input_shape"]))
    assert tuple(out.shape[1:]) == after.output_shape
    return fixed


def test_add_mismatch_offers_the_projection_shortcut() -> None:
    spec = copy.deepcopy(TINY_RES)
    spec["layers"][3].update(stride=2, out_channels=32)  # conv2 halves H×W, doubles channels
    analysis = analyze(spec)
    row = analysis.layers[5]
    assert row.error_field == "inputs" and "[32, 16, 16]" in row.error
    assert "1×1 Conv2d (32 channels, stride 2) + BatchNorm2d" in row.fix
    fixed = _fixed_runs(spec)
    added = [layer for layer in fixed["layers"] if layer.get("inputs") == ["input"]]
    assert added and added[0]["kernel_size"] == 1 and added[0]["stride"] == 2
    # the parameter count is torch's own for the fixed network
    net = build_model(fixed)
    assert analyze(fixed).total_params == sum(p.numel() for p in net.parameters())


def test_add_padding_fix_and_concat_alignment_fixes() -> None:
    smaller = copy.deepcopy(TINY_RES)
    smaller["layers"][3]["padding"] = 0  # 30×30 against 32×32, same channels: pad it
    analysis = analyze(smaller)
    assert "ZeroPad2d" in analysis.layers[5].fix
    _fixed_runs(smaller)
    for layer in ({"type": "MaxPool2d", "kernel_size": 2}, {"type": "Upsample", "size": 64}):
        spec = copy.deepcopy(TINY_RES)
        spec["layers"].insert(7, layer)  # the branch sees a different H×W than relu2
        spec["layers"][8]["inputs"] = [
            spec["layers"][7].get("name", "pool1" if "Max" in layer["type"] else "up1")
        ]
        analysis = analyze(spec)
        row = analysis.layers[analysis.error_index]
        assert row.type == "Concat" and row.error_field == "inputs"
        _fixed_runs(spec)


def test_concat_dim_rules() -> None:
    spec = copy.deepcopy(TINY_RES)
    spec["layers"][8]["dim"] = 0
    assert "dim 0 is the batch" in analyze(spec).error
    spec["layers"][8]["dim"] = -3  # channels of [N, C, H, W], counted from the end
    assert analyze(spec).output_shape == (24, 32, 32)
    spec["layers"][8]["dim"] = 2  # heights: the channels differ, so torch refuses; so do we
    assert not analyze(spec).ok


def test_unused_output_is_an_error_with_a_delete_fix() -> None:
    spec = copy.deepcopy(TINY_RES)
    spec["layers"].insert(
        7,
        {
            "type": "Conv2d",
            "name": "dangling",
            "inputs": ["relu2"],
            "out_channels": 2,
            "kernel_size": 1,
        },
    )
    analysis = analyze(spec)
    row = analysis.layers[7]
    assert "never used" in row.error and row.fix_action == {"op": "delete", "index": 7}
    with pytest.raises(SpecError, match="never used"):
        build_model(spec)
    fixed = _fixed_runs(spec)
    assert [layer.get("name") for layer in fixed["layers"]].count("dangling") == 0


def _wiring(design: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Each layer's type and its inputs' types and places: what the graph is, names aside."""
    spec = load_spec(design)
    where = {layer.name: f"{layer.type}@{i}" for i, layer in enumerate(spec.layers)}
    where["input"] = "input"
    return [(layer.type, tuple(where[n] for n in layer.inputs)) for layer in spec.layers]


def test_edits_keep_the_graph_when_default_names_shift() -> None:
    before = _wiring(TINY_RES)
    # a Conv2d at the top renames every later default-named conv; the graph must not change
    grown = insert_layer(TINY_RES, 0, {"type": "Conv2d", "out_channels": 16, "kernel_size": 1})
    after = _wiring(grown)
    shifted = [(t, tuple(_shift(n) for n in ins)) for t, ins in before]
    # explicit "input" still names the network's input; the first layer (no inputs) reads the
    # new one
    assert after[1:] == [(shifted[0][0], ("Conv2d@0",)), *shifted[1:]]
    # deleting bn2 makes the Add read conv2
    shrunk = delete_layer(TINY_RES, 4)
    assert load_spec(shrunk).layers[4].inputs == ("conv2", "input")
    # renaming follows into inputs
    renamed = rename_layer(TINY_RES, 4, "norm_out")
    assert load_spec(renamed).layers[5].inputs == ("norm_out", "input")
    # moving the branch above the layer it reads: load_spec refuses, not a silent rewiring
    with pytest.raises(SpecError, match="after this one"):
        load_spec(move_layer(TINY_RES, 7, -1))


def _shift(name: str) -> str:
    if name == "input":
        return name
    kind, place = name.split("@")
    return f"{kind}@{int(place) + 1}"


# --- random graphs against torch ------------------------------------------------------------


def graph_outputs(net: nn.Module, spec: Any, x: torch.Tensor) -> Iterator[tuple[Any, torch.Tensor]]:
    """An independent walk of the graph with the net's modules, merges by hand (a sum,
    ``torch.cat``): each spec layer with its output, in order."""
    values = {"input": x}
    modules = dict(net.named_children())
    for layer in spec.layers:
        ins = [values[n] for n in layer.inputs]
        if layer.type == "Add":
            out = sum(ins[1:], ins[0])
        elif layer.type == "Concat":
            out = torch.cat(ins, dim=layer.resolved()["dim"])
        else:
            out = modules[layer.name](ins[0])
        values[layer.name] = out
        yield layer, out


def walk_graph(net: nn.Module, spec: Any, analysis: Any, x: torch.Tensor) -> torch.Tensor:
    """``graph_outputs``, checked: every row's output shape and parameter count must be
    torch's. Returns the last output."""
    modules = dict(net.named_children())
    out = x
    for (layer, out), row in zip(graph_outputs(net, spec, x), analysis.layers, strict=True):
        assert tuple(out.shape[1:]) == row.output_shape, layer.name
        own = sum(p.numel() for p in modules[layer.name].parameters())
        assert row.params == own, layer.name
    return out


BLOCKS = [
    {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "Conv2d", "out_channels": 6, "kernel_size": 1},
    {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1},
    {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "BatchNorm2d"},
    {"type": "ReLU"},
    {"type": "ConvTranspose2d", "out_channels": 4, "kernel_size": 2, "stride": 2},
]


def _random_graph(data: st.DataObject) -> dict[str, Any]:
    design: dict[str, Any] = {"input_shape": [3, 8, 8], "seed": 1, "layers": []}
    for _ in range(data.draw(st.integers(2, 9))):
        rows = analyze(design).layers if design["layers"] else ()
        known = [("input", (3, 8, 8))] + [(r.name, r.output_shape) for r in rows if r.output_shape]
        same = [(a, b) for a, sa in known for b, sb in known if a < b and sa == sb]
        joinable = [(a, b) for a, sa in known for b, sb in known if a < b and sa[1:] == sb[1:]]
        kind = data.draw(st.sampled_from(["chain", "chain", "add", "cat"]))
        if kind == "add" and same:
            design["layers"].append(
                {"type": "Add", "inputs": list(data.draw(st.sampled_from(same)))}
            )
        elif kind == "cat" and joinable:
            pick = list(data.draw(st.sampled_from(joinable)))
            design["layers"].append({"type": "Concat", "inputs": pick})
        else:
            layer = copy.deepcopy(data.draw(st.sampled_from(BLOCKS)))
            layer["inputs"] = [data.draw(st.sampled_from([n for n, _ in known]))]
            design["layers"].append(layer)
    # every output nothing reads joins the head: pooled, flattened, concatenated
    analysis = analyze(design)
    loose = [r.name for r in analysis.layers if not r.used_by and r.output_shape]
    heads = []
    for name in loose:
        design["layers"].append({"type": "AdaptiveAvgPool2d", "output_size": 1, "inputs": [name]})
        design["layers"].append({"type": "Flatten"})
        heads.append(len(design["layers"]) - 1)
    names = [layer.name for layer in load_spec(design).layers]
    if len(heads) > 1:
        design["layers"].append({"type": "Concat", "inputs": [names[i] for i in heads]})
    return design


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_graphs_against_torch(data: st.DataObject) -> None:
    design = _random_graph(data)
    analysis = analyze(design)
    if not analysis.ok:  # a layer that cannot take its input (a pool on a 1×1 map): torch agrees
        row = analysis.layers[analysis.error_index]
        assert row.torch_fails or "never used" in row.error
        return
    net = build_model(design).eval()
    spec = load_spec(design)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(net(x), walk_graph(net, spec, analysis, x))
