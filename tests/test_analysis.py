"""analyze() vs torch and torchinfo: shapes, counts, multiply-adds, errors at the right layer."""

from __future__ import annotations

import math
import resource
import time

import pytest
import torch
import torchinfo
from hypothesis import given

import builder
from builder.presets import PRESET_NAMES, preset
from tests.cases import plain_in
from tests.strategies import specs


def _networks() -> dict[str, dict]:
    nets = {name: preset(name) for name in PRESET_NAMES if name != "empty"}
    nets["article conv1 on 3x10x10"] = {
        "input_shape": [3, 10, 10],
        "layers": [{"type": "Conv2d", "out_channels": 6, "kernel_size": 5}],
    }
    frozen = preset("VGG block with BatchNorm")
    frozen["layers"][0]["trainable"] = False
    frozen["layers"][1]["trainable"] = False
    nets["VGG block, first conv+bn frozen"] = frozen
    return nets


NETWORKS = _networks()


@pytest.fixture(scope="module")
def summaries():
    out = {}
    for key, data in NETWORKS.items():
        model = builder.build_model(data)
        out[key] = torchinfo.summary(
            model, input_size=(1, *data["input_shape"]), verbose=0, device="cpu", mode="eval"
        )
    return out


@pytest.mark.parametrize("key", list(NETWORKS))
def test_whole_networks_agree_with_torchinfo(key, summaries):
    analysis = builder.analyze(NETWORKS[key])
    summary = summaries[key]
    rows = [info for info in summary.summary_list if info.depth == 1]
    assert analysis.ok
    assert len(rows) == len(analysis.layers)
    for info, row in zip(rows, analysis.layers):
        assert info.class_name == row.type
        assert tuple(info.output_size[1:]) == row.output_shape, row.name
        assert info.num_params == row.params, row.name
        if row.type in ("Conv2d", "Linear"):
            assert info.macs == row.mult_adds, row.name
    assert analysis.total_params == summary.total_params
    assert analysis.trainable_params == summary.trainable_params
    assert analysis.non_trainable_params == summary.total_params - summary.trainable_params
    model = builder.build_model(NETWORKS[key])
    assert analysis.total_params == sum(p.numel() for p in model.parameters())
    assert analysis.total_buffers == sum(b.numel() for b in model.buffers())
    assert analysis.param_memory_mb == pytest.approx(summary.total_params * 4 / 1e6)


def test_article_numbers():
    lenet = builder.analyze(preset())
    assert lenet.total_params == 62_006
    assert lenet.layers[5].output_shape == (16, 5, 5)
    assert lenet.layers[0].param_formula == "6·3·5·5 + 6 = 456"
    assert lenet.layers[0].shape_formula.startswith(
        "H, W: floor((32 + 2·0 − 1·(5−1) − 1) / 1) + 1 = 28"
    )
    conv = builder.analyze(NETWORKS["article conv1 on 3x10x10"])
    assert conv.output_shape == (6, 6, 6)
    assert conv.layers[0].tensors == (("weight", (6, 3, 5, 5)), ("bias", (6,)))
    frame = lenet.to_frame()
    assert list(frame["params"]) == [r.params for r in lenet.layers]


def test_frozen_layers_and_buffers_shown_apart():
    analysis = builder.analyze(NETWORKS["VGG block, first conv+bn frozen"])
    assert analysis.non_trainable_params == 64 * 3 * 9 + 64 + 2 * 64
    assert analysis.total_buffers == 4 * (2 * 64 + 1) - 2 * 64 + 2 * 64 + 2 * (128 - 64) * 2
    model = builder.build_model(NETWORKS["VGG block, first conv+bn frozen"])
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert analysis.trainable_params == trainable
    assert analysis.total_buffers == sum(b.numel() for b in model.buffers())


def _forward_shapes(model: torch.nn.Module, input_shape, upto: int | None = None):
    """Run the children one by one; return their output shapes and the index torch failed at."""
    x = torch.randn(2, *input_shape)
    shapes = []
    with torch.no_grad():
        for i, layer in enumerate(model.children()):
            if upto is not None and i >= upto:
                break
            x = layer(x)
            shapes.append(tuple(x.shape[1:]))
    return shapes


def _plain_layer(layer, row):
    """The plain torch layer (in_* from the given argument, else the analysed input)."""
    from builder.model import constructor_kwargs

    in_dim = None
    if layer.entry.in_key:
        given = layer.args.get(layer.entry.in_key)
        in_dim = given if given is not None else plain_in(layer.type, row.input_shape)
    return layer.entry.cls(**constructor_kwargs(layer, in_dim)).eval()


@given(specs())
def test_random_specs_agree_with_torch(data):
    spec = builder.load_spec(data)
    analysis = builder.analyze(spec)  # never raises
    if analysis.ok:
        model = builder.build_model(spec).eval()
        assert _forward_shapes(model, spec.input_shape) == [r.output_shape for r in analysis.layers]
        assert analysis.total_params == sum(p.numel() for p in model.parameters())
        return
    bad = analysis.error_index
    row = analysis.layers[bad]
    assert analysis.error == row.error
    assert row.error.startswith(f"layer {bad + 1} ({row.name}): ")
    assert "Fix: " in row.error
    assert [r.error for r in analysis.layers if r.error] == [row.error]
    assert all(r.output_shape is None for r in analysis.layers[bad:])
    x = torch.randn(2, *spec.input_shape)
    with torch.no_grad():
        for i in range(bad):
            x = _plain_layer(spec.layers[i], analysis.layers[i])(x)
            assert tuple(x.shape[1:]) == analysis.layers[i].output_shape
        if row.torch_fails:
            with pytest.raises((RuntimeError, ValueError, IndexError)):
                _plain_layer(spec.layers[bad], row)(x)


@pytest.mark.parametrize(
    "layers, index, fragments, action",
    [
        (
            [
                {"type": "Conv2d", "out_channels": 6, "kernel_size": 5},
                {"type": "Linear", "out_features": 10},
            ],
            1,
            ["layer 2 (fc1): Linear needs a flat input, got shape [6, 28, 28]", "add a Flatten"],
            {"op": "insert", "layer": {"type": "Flatten"}, "index": 1},
        ),
        (
            [{"type": "Flatten"}, {"type": "Linear", "in_features": 400, "out_features": 10}],
            1,
            [
                "layer 2 (fc1): in_features is 400 but the input has 3072 features",
                "set in_features to 3072",
            ],
            {"op": "set", "field": "in_features", "value": 3072, "index": 1},
        ),
        (
            [
                {"type": "MaxPool2d", "kernel_size": 8},
                {"type": "Conv2d", "out_channels": 6, "kernel_size": 5},
            ],
            1,
            [
                "layer 2 (conv1): the kernel reaches 5 pixels but the input is only 4 high",
                "set padding to 1",
            ],
            {"op": "set", "field": "padding", "value": 1, "index": 1},
        ),
        (
            [{"type": "Conv2d", "out_channels": 4, "kernel_size": 1, "groups": 2}],
            0,
            ["layer 1 (conv1): groups=2 does not divide the 3 input channels"],
            None,
        ),
        (
            [{"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 1}],
            0,
            ["in_channels is 1 but the input has 3 channels", "set in_channels to 3"],
            {"op": "set", "field": "in_channels", "value": 3, "index": 0},
        ),
        (
            [{"type": "Flatten"}, {"type": "Conv2d", "out_channels": 4, "kernel_size": 1}],
            1,
            ["Conv2d needs a [C, H, W] input, got a flat vector of 3072 features"],
            None,
        ),
    ],
)
def test_error_messages_and_fixes(layers, index, fragments, action):
    analysis = builder.analyze({"input_shape": [3, 32, 32], "layers": layers})
    assert not analysis.ok and analysis.error_index == index
    for fragment in fragments:
        assert fragment in analysis.error
    assert analysis.layers[index].fix_action == action
    assert analysis.output_shape is None


def test_params_after_error_only_where_args_fix_them():
    layers = [
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 50},
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
        {"type": "Conv2d", "in_channels": 4, "out_channels": 2, "kernel_size": 3},
        {"type": "Flatten"},
        {"type": "Linear", "in_features": 10, "out_features": 5},
        {"type": "Linear", "out_features": 5},
    ]
    analysis = builder.analyze({"input_shape": [3, 32, 32], "layers": layers})
    assert [r.params for r in analysis.layers] == [None, None, 2 * 4 * 9 + 2, 0, 55, None]
    assert [r.error is not None for r in analysis.layers] == [True] + [False] * 5
    with pytest.raises(builder.SpecError, match="layer 1 \\(conv1\\)"):
        builder.build_model({"input_shape": [3, 32, 32], "layers": layers})


def test_prelu_slopes_are_counted_after_an_error_too():
    """PReLU infers nothing from its input: its weight is known from num_parameters alone, so a
    layer card can show it (and offer only a weight initializer) wherever the analysis stops."""
    layers = [
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 50},
        {"type": "PReLU", "num_parameters": 4},
        {"type": "PReLU", "num_parameters": 7},
    ]
    analysis = builder.analyze({"input_shape": [3, 32, 32], "layers": layers})
    assert [r.params for r in analysis.layers] == [None, 4, 7]
    assert [r.tensors for r in analysis.layers[1:]] == [(("weight", (4,)),), (("weight", (7,)),)]
    failing = builder.analyze({"input_shape": [3, 8, 8], "layers": layers[2:]})
    assert failing.layers[0].error and failing.layers[0].params == 7


def test_twenty_billion_parameters_analyse_fast_without_memory():
    data = {
        "input_shape": [200_000],
        "layers": [{"type": "Linear", "out_features": 100_000}, {"type": "ReLU"}] * 1
        + [{"type": "Linear", "out_features": 1}],
    }
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    analysis = builder.analyze(data)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert analysis.total_params == 200_000 * 100_000 + 100_000 + 100_000 + 1
    assert analysis.total_params > 20e9
    assert elapsed < 0.5
    assert after - before < 50_000  # KB: nothing near the 80 GB the weights would take
    assert math.isclose(analysis.param_memory_mb, analysis.total_params * 4 / 1e6)
