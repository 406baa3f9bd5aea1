"""Receptive fields, memory, signal, histograms and training on graphs (SPEC.md "Graphs").

The oracles: torch's own connectivity (``measured_boxes``: which output units change when one
input pixel is raised), the tensors a real forward pass keeps alive (weak references to every
tensor torch returns, read after each op) and autograd saves, hand-run forward passes of the
built net's layers along the graph, hand-written torch modules, torchinfo, and ``torch.histc``.
"""

from __future__ import annotations

import copy
import itertools
import math
import weakref
from typing import Any

import pytest
import torch
import torch.nn.functional as F
import torchinfo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.overrides import TorchFunctionMode

from builder import analyze, build_model
from builder.histograms import weight_histograms
from builder.memory import memory_estimate
from builder.receptive import receptive_field, receptive_field_figure
from builder.signal import activation_stats, compare_plans, heavy_macs, signal_elements, with_plan
from builder.spec import load_spec
from builder.training import digits_dataset, train
from tests.test_graphs import INCEPTION, TINY_RES, UNET, _random_graph, graph_outputs
from tests.test_receptive_memory import check_unit, measured_boxes


def conv(out: int, k: int, **kw: Any) -> dict[str, Any]:
    return {"type": "Conv2d", "out_channels": out, "kernel_size": k, **kw}


def small(design: dict[str, Any], *spatial: int) -> dict[str, Any]:
    """The design on a smaller image (the connectivity oracle runs one sample per pixel)."""
    design = copy.deepcopy(design)
    design["input_shape"] = [design["input_shape"][0], *spatial]
    return design


RESIDUAL_STRIDED = {
    "input_shape": [2, 13, 13],
    "layers": [
        conv(3, 3, name="c1", stride=2, padding=1),
        {"type": "BatchNorm2d"},
        {"type": "ReLU"},
        conv(3, 3, name="c2", padding=1),
        conv(3, 1, name="shortcut", inputs=["input"], stride=2),
        {"type": "Add", "name": "sum", "inputs": ["c2", "shortcut"]},
        {"type": "ReLU"},
    ],
}
"""A residual block whose main path strides by 2 (rf 7) and whose 1×1 shortcut strides too
(rf 1): the same jump, intervals nested, so the sum is exact."""

SPATIAL_CONCAT = {
    "input_shape": [1, 9, 7],
    "layers": [
        conv(2, 3, name="top"),
        conv(2, 1, name="bottom", inputs=["input"], stride=[1, 1]),
        {"type": "MaxPool2d", "name": "cut", "kernel_size": [2, 1], "stride": [2, 1]},
        {"type": "ZeroPad2d", "name": "crop", "padding": [-1, -1, 0, 0]},
        {"type": "Concat", "name": "stacked", "dim": 2, "inputs": ["top", "crop"]},
        conv(1, 3, name="after", padding=1),
    ],
}
"""A ``Concat`` along H (dim 2): rows from two branches end to end, an upper bound."""

DIFFERENT_JUMPS = {
    "input_shape": [1, 9, 9],
    "layers": [
        conv(2, 3, name="strided", stride=2),
        conv(2, 6, name="wide", inputs=["input"]),
        {"type": "Add", "inputs": ["strided", "wide"]},
        conv(1, 2),
    ],
}
"""Two branches of one shape (4×4) and different jumps (2 and 1): an upper bound."""

DISJOINT = {
    "input_shape": [1, 12, 12],
    "layers": [
        {"type": "ZeroPad2d", "name": "shift", "padding": [5, -5, 0, 0]},
        {"type": "Add", "inputs": ["input", "shift"]},
        conv(1, 3, padding=1),
    ],
}
"""Each unit sees its own pixel and the one 5 to its left: two pixels apart, so the bounding box
is not the union (flagged); 1 and 3 wide after a 3×3 convolution, still apart."""

GRAPH_ORACLE_CASES = {
    "tiny_res": small(TINY_RES, 6, 6),
    "residual_strided": RESIDUAL_STRIDED,
    "inception": INCEPTION,
    "unet": UNET,
}


def check_graph_against_oracle(design: dict[str, Any]) -> list:
    """Exact records: each unit's measured box is its interval (clipped); the others: every
    pixel a unit depends on lies inside its interval."""
    records = receptive_field(design)
    sizes = design["input_shape"][1:]
    for index, box in measured_boxes(design).items():
        record = records[index]
        assert record.size == tuple(box.shape[:-1]), record
        for unit in itertools.product(*map(range, box.shape[:-1])):
            seen = box[unit].tolist()
            if record.exact:
                check_unit(record, unit, seen, sizes, whole=False)
            elif seen[0] != -1:
                for axis, i in enumerate(unit):
                    low, high = record.interval(i, axis)
                    assert low - 1e-9 <= seen[2 * axis] <= seen[2 * axis + 1] <= high + 1e-9
    return records


# --- receptive field -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(GRAPH_ORACLE_CASES))
def test_graph_receptive_fields_match_torch_connectivity(name):
    records = check_graph_against_oracle(GRAPH_ORACLE_CASES[name])
    flagged = [r.name for r in records if not r.exact]
    # U-Net's upsampling gathers whole units of a strided map: only an upper bound from there
    assert flagged == (["up", "skip", "dec", "head"] if name == "unet" else []), flagged


def test_a_merge_sees_the_widest_of_its_inputs():
    """Inception's concatenation sees what its 5×5 branch sees; the 1×1 branch alone sees one
    pixel (measured: the box of the centre unit)."""
    records = {r.name: r for r in check_graph_against_oracle(INCEPTION)}
    boxes = measured_boxes(INCEPTION)
    index = {r.name: r.index for r in records.values()}
    for name, width in (("b1", 1), ("b2b", 3), ("b3b", 5), ("b4b", 3), ("mixed", 5)):
        top, bottom, left, right = boxes[index[name]][6, 6].tolist()
        assert (bottom - top + 1, right - left + 1) == (width, width), name
        assert records[name].rf == (width, width), name
    strided = {r.name: r for r in receptive_field(RESIDUAL_STRIDED)}
    assert strided["sum"].rf == strided["c2"].rf == (7, 7) and strided["sum"].jump == (2, 2)
    unet = {r.name: r for r in receptive_field(UNET)}
    assert unet["skip"].rf == max(unet["enc_act"].rf, unet["up"].rf)  # the skip: the deep path
    assert unet["skip"].inputs == ("enc_act", "up")


@pytest.mark.parametrize("design", [SPATIAL_CONCAT, DIFFERENT_JUMPS, DISJOINT])
def test_merges_that_no_interval_describes_are_flagged_upper_bounds(design):
    records = check_graph_against_oracle(design)
    assert analyze(design).ok
    assert not records[-1].exact


def test_an_upsampling_of_a_strided_map_is_flagged_and_an_upper_bound():
    """U-Net's decoder on its own: output units 0 and 1 of the 2×2 transposed convolution both
    gather pooled unit 0, which sees input pixels 0-1; no interval ``start + i·jump`` with jump
    ½ gives both units that box, so the record is an upper bound."""
    design = {
        "input_shape": [1, 8, 8],
        "layers": [
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "ConvTranspose2d", "out_channels": 1, "kernel_size": 2, "stride": 2},
        ],
    }
    records = check_graph_against_oracle(design)
    box = measured_boxes(design)[2]
    assert box[0, 0, 2:].tolist() == box[0, 1, 2:].tolist() == [0, 1]  # columns seen
    assert records[1].exact and not records[2].exact


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_graph_receptive_fields_against_torch(data):
    design = _random_graph(data)
    if not analyze(design).ok:  # a layer that cannot take its input: nothing to compare
        return
    check_graph_against_oracle(design)


def test_receptive_field_figure_shows_the_merges():
    figure = receptive_field_figure(receptive_field(INCEPTION))
    names = list(figure.data[0].x)
    assert "mixed" in names and "flatten1" in names and "fc1" not in names


# --- memory ----------------------------------------------------------------------------------

MEMORY_GRAPHS = {"tiny_res": TINY_RES, "inception": INCEPTION, "unet": UNET}


@pytest.mark.parametrize("name", list(MEMORY_GRAPHS))
def test_graph_activation_bytes_are_every_output_of_a_real_forward(name):
    design = MEMORY_GRAPHS[name]
    model = build_model(design)
    sizes = []
    handles = [
        child.register_forward_hook(lambda m, a, out: sizes.append(out.numel() * 4))
        for child in model.children()
    ]
    with torch.no_grad():
        model(torch.zeros(3, *design["input_shape"]))
    for handle in handles:
        handle.remove()
    estimate = memory_estimate(design, 3)
    assert len(sizes) == len(design["layers"])  # the merges ran as layers too
    assert estimate.activations == sum(sizes)
    assert [layer.activations for layer in estimate.layers] == sizes


@pytest.mark.parametrize("name", list(MEMORY_GRAPHS))
def test_what_a_training_step_keeps_fits_the_activation_estimate(name):
    """Everything autograd saves for the backward pass (the skips held for their merges
    included) is the input, a parameter, or a layer's output (a view of one counts as it; a max
    pool's indices are not floats); and the most the forward pass ever holds is within the
    estimate of the activations and the input."""
    design = MEMORY_GRAPHS[name]
    model = build_model(design).train()
    x = torch.randn(3, *design["input_shape"])
    outputs: dict[int, int] = {}
    handles = [
        child.register_forward_hook(
            lambda m, a, out: outputs.__setitem__(
                out.untyped_storage().data_ptr(), out.untyped_storage().nbytes()
            )
        )
        for child in model.children()
    ]
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    params |= {b.untyped_storage().data_ptr() for b in model.buffers()}
    saved: dict[int, tuple[int, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.is_floating_point():
            saved[t.untyped_storage().data_ptr()] = (t.untyped_storage().nbytes(), t.dim())
        return t

    tracker = AliveTracker([x])
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), tracker:
        loss = model(x).sum()
    loss.backward()
    for handle in handles:
        handle.remove()
    estimate = memory_estimate(design, 3)
    kept = {ptr: size for ptr, (size, _) in saved.items() if ptr not in params}
    known = set(outputs) | {x.untyped_storage().data_ptr()}
    # besides outputs, only BatchNorm's per-channel batch statistics (1-d, a few bytes)
    assert all(saved[ptr][1] == 1 and kept[ptr] <= 4 * 64 for ptr in set(kept) - known)
    assert sum(kept[ptr] for ptr in set(kept) & known) <= estimate.activations + estimate.input
    # the forward holds at most every output plus the input (and the loss, a scalar)
    assert tracker.peak <= estimate.activations + estimate.input + 4
    assert tracker.peak >= max(layer.activations for layer in estimate.layers)


# --- signal ----------------------------------------------------------------------------------


class AliveTracker(TorchFunctionMode):
    """After every torch op: the bytes of the distinct storages still alive among the tensors
    that torch returned so far and ``held`` (the caller's input), and the most of them."""

    def __init__(self, held: list[torch.Tensor]) -> None:
        super().__init__()
        self.held = held
        self.refs: list[weakref.ref] = []
        self.peak = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if isinstance(out, torch.Tensor):
            self.refs.append(weakref.ref(out))
        alive = {}
        for tensor in [*self.held, *(ref() for ref in self.refs)]:
            if tensor is not None:
                storage = tensor.untyped_storage()
                alive[storage.data_ptr()] = storage.nbytes()
        self.peak = max(self.peak, sum(alive.values()))
        return out


def measured_peak_elements(design: dict[str, Any]) -> int:
    """The most activation elements a no-grad forward pass of one sample holds at once."""
    model = build_model(design).eval()
    x = torch.randn(1, *design["input_shape"])
    tracker = AliveTracker([x])
    with torch.no_grad(), tracker:
        model(x)
    return tracker.peak // 4


THREE_WAY_ADD = {
    "input_shape": [4, 16, 16],
    "layers": [
        conv(32, 1, name="a"),
        conv(32, 1, name="b", inputs=["input"]),
        conv(32, 1, name="c", inputs=["input"]),
        {"type": "Add", "inputs": ["a", "b", "c"]},
        {"type": "ReLU"},
    ],
}
"""The sum of three wide maps: the pairwise sum briefly holds two outputs besides the three."""

SKIP_HELD = {
    "input_shape": [1, 16, 16],
    "layers": [
        conv(16, 3, name="stem", padding=1),
        conv(32, 3, name="wide1", padding=1),
        conv(32, 3, name="wide2", padding=1),
        conv(16, 1, name="narrow"),
        {"type": "Add", "inputs": ["narrow", "stem"]},
    ],
}

SIGNAL_GRAPHS = {**MEMORY_GRAPHS, "three_way_add": THREE_WAY_ADD, "skip_held": SKIP_HELD}


@pytest.mark.parametrize("name", list(SIGNAL_GRAPHS))
def test_signal_elements_hold_the_values_kept_for_later_layers(name):
    """The figure bounds the real peak, and over-counts by at most the input (a layer that
    reads the input counts it among its inputs too)."""
    design = SIGNAL_GRAPHS[name]
    measured = measured_peak_elements(design)
    sample = math.prod(design["input_shape"])
    assert measured <= signal_elements(design) <= measured + sample


def test_a_skip_held_across_a_deep_path_is_counted():
    """The stem's output waits through a wider path for its ``Add``: counting only each layer's
    inputs and output (as for a stack) would fall short of what the pass really holds."""
    analysis = analyze(SKIP_HELD)
    sample = math.prod(SKIP_HELD["input_shape"])
    sizes = {"input": sample, **{r.name: r.activations for r in analysis.layers}}
    stack_like = sample + max(
        sum(sizes[n] for n in r.inputs) + r.activations for r in analysis.layers
    )
    measured = measured_peak_elements(SKIP_HELD)
    assert stack_like < measured <= signal_elements(SKIP_HELD)


def hand_run(model: nn.Module, design: dict[str, Any], x: torch.Tensor) -> list[torch.Tensor]:
    """Every layer's output, walking the spec's graph with the built net's modules (merges by
    hand: a sum, ``torch.cat``)."""
    return [out for _, out in graph_outputs(model, load_spec(design), x)]


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("name", list(SIGNAL_GRAPHS))
def test_graph_signal_rows_are_each_layers_output(name, mode):
    design = SIGNAL_GRAPHS[name]
    model = build_model(design)
    stats = activation_stats(model, batch_size=8, seed=3, mode=mode)
    reference = copy.deepcopy(model).train(mode == "train")
    x = torch.randn((8, *design["input_shape"]), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        outs = hand_run(reference, design, x)
    spec = load_spec(design)
    assert [(s.name, s.type) for s in stats] == [("input", "Input")] + [
        (layer.name, layer.type) for layer in spec.layers
    ]
    for stat, out in zip(stats[1:], outs):
        assert stat.shape == tuple(out.shape[1:]), stat.name
        assert stat.mean == pytest.approx(out.mean().item(), rel=1e-4, abs=1e-6), stat.name
        assert stat.std == pytest.approx(out.std().item(), rel=1e-4, abs=1e-6), stat.name
        zeros = int((out == 0).sum())
        assert stat.zero_fraction == pytest.approx(zeros / out.numel(), rel=1e-12), stat.name


def test_init_plans_keep_the_wiring():
    """A plan changes weights, not the graph: with the default plan the model computes what the
    design's own does, and ``compare_plans`` measures every layer, the merges included."""
    design = with_plan(UNET, {})
    assert [layer.get("inputs") for layer in design["layers"]][6] == ["enc_act", "up"]
    x = torch.randn(2, *UNET["input_shape"])
    with torch.no_grad():
        assert torch.equal(build_model(design)(x), build_model(UNET)(x))
    plan = {"Conv2d": {"weight": {"scheme": "kaiming_normal"}}}
    plain, kaiming = compare_plans(UNET, {}, plan, batch_size=4)
    assert (
        [s.name for s in plain]
        == [s.name for s in kaiming]
        == ["input", *(layer.name for layer in load_spec(UNET).layers)]
    )
    assert plain[7].std != kaiming[7].std  # the skip's concatenation, under each plan


def test_graph_heavy_macs_are_torchinfos():
    """Wide convolutions, merges and a Linear: the limits' weighted count is torchinfo's."""
    design = {
        "input_shape": [3, 12, 12],
        "layers": [
            conv(16, 3, name="stem", padding=1),
            conv(16, 3, name="left", padding=1),
            conv(16, 1, name="right", inputs=["stem"]),
            {"type": "Add", "name": "sum", "inputs": ["left", "right", "stem"]},
            conv(16, 3, name="deep", stride=2),
            conv(16, 3, name="side", inputs=["sum"], stride=2),
            {"type": "Concat", "inputs": ["deep", "side"]},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 10},
        ],
    }
    summary = torchinfo.summary(build_model(design), input_size=(1, 3, 12, 12), verbose=0)
    assert heavy_macs(design) == summary.total_mult_adds


# --- histograms and training --------------------------------------------------------------------


def test_graph_weight_histograms_cover_every_parameter():
    model = build_model(TINY_RES)
    histograms = weight_histograms(model, bins=20)
    params = dict(model.named_parameters())
    assert [h.name for h in histograms] == list(params)  # the merges hold none
    for h in histograms:
        param = params[h.name].detach()
        assert h.counts == torch.histc(param, 20, param.min(), param.max()).long().tolist()
        assert h.scheme == model.init_plan[h.name]


RESIDUAL_DIGITS = {
    "input_shape": [1, 8, 8],
    "seed": 0,
    "layers": [
        conv(8, 3, name="stem", padding=1),
        {"type": "ReLU", "name": "stem_act"},
        conv(8, 3, name="c1", padding=1),
        {"type": "BatchNorm2d", "name": "bn"},
        {"type": "ReLU", "name": "act"},
        conv(8, 3, name="c2", padding=1),
        {"type": "Add", "name": "sum", "inputs": ["c2", "stem_act"]},
        {"type": "ReLU", "name": "out_act"},
        {"type": "MaxPool2d", "name": "pool", "kernel_size": 2},
        {"type": "Flatten", "name": "flat"},
        {"type": "Linear", "name": "fc", "out_features": 10},
    ],
}


class HandResidual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.c1 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = F.relu(self.stem(x))
        out = self.c2(F.relu(self.bn(self.c1(skip))))
        return self.fc(F.max_pool2d(F.relu(out + skip), 2).flatten(1))


def test_a_small_residual_net_learns_the_digits():
    result = train(RESIDUAL_DIGITS, epochs=1, batch_size=32, time_limit=30)
    assert result.stopped_reason == "done"
    # the starting point, recomputed with a hand-written module of the same construction order
    torch.manual_seed(0)
    hand = HandResidual().eval()
    _, _, x_test, y_test = digits_dataset([1, 8, 8])
    with torch.no_grad():
        initial = F.cross_entropy(hand(x_test), y_test).item()
    assert result.initial.test_loss == pytest.approx(initial, rel=1e-5)
    losses = result.batch_losses
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
    assert result.epochs[-1].test_loss < 0.5 * result.initial.test_loss
    assert result.test_accuracy > 0.8
