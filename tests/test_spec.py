"""load_spec / to_dict / SpecError: the format, its validation and its messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given

import builder
from builder import SpecError, load_spec
from builder.presets import PRESET_NAMES, preset
from tests.cases import CASES, case_spec
from tests.strategies import specs


def lenet() -> dict:
    return preset()


def test_spec_md_example_loads_and_names():
    spec = load_spec(lenet())
    assert [layer.name for layer in spec.layers] == [
        "conv1",
        "relu1",
        "pool1",
        "conv2",
        "relu2",
        "pool2",
        "flatten1",
        "fc1",
        "relu3",
        "fc2",
        "relu4",
        "fc3",
    ]
    assert spec.class_name == "LeNet"
    assert spec.seed == 0 and spec.version == 1


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_round_trip_is_fixed_point(name):
    first = load_spec(preset(name)).to_dict()
    assert load_spec(first).to_dict() == first
    assert load_spec(json.dumps(first)).to_dict() == first


@given(specs())
def test_round_trip_random(data):
    first = load_spec(data).to_dict()
    assert load_spec(first).to_dict() == first


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_round_trip_cases(case):
    first = load_spec(case_spec(case)).to_dict()
    assert load_spec(first).to_dict() == first
    # inferred in_* arguments are not added
    assert all(k in case[2] or k in ("name",) for k in first["layers"][0] if k != "type")


def test_to_dict_fills_version_seed_names_only():
    data = {
        "input_shape": [3, 8, 8],
        "layers": [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3}],
    }
    out = load_spec(data).to_dict()
    assert out["version"] == 1 and out["seed"] == 0
    assert out["layers"] == [
        {"type": "Conv2d", "name": "conv1", "out_channels": 2, "kernel_size": 3}
    ]
    assert "in_channels" not in out["layers"][0]


def test_load_from_path_and_json(tmp_path):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(lenet()))
    with pytest.raises(SpecError, match="not valid JSON"):  # a str is never a path (SPEC.md)
        load_spec(str(path))
    assert load_spec(path).to_dict() == load_spec(lenet()).to_dict()
    assert load_spec("  " + json.dumps(lenet())).to_dict() == load_spec(lenet()).to_dict()


@pytest.mark.parametrize(
    "source, fragment",
    [
        ("{not json", "not valid JSON"),
        ("/no/such/file.json", "not valid JSON"),
        (Path("/no/such/file.json"), "cannot read spec file"),
        (Path("/dev/zero"), "too large"),
        ("[1, 2]", "is a JSON object, got a list"),
    ],
)
def test_unreadable_inputs(source, fragment):
    with pytest.raises(SpecError, match=fragment):
        load_spec(source)


def test_default_names_follow_prefix_rules():
    layers = [
        {"type": "Conv2d", "name": "conv2", "out_channels": 2, "kernel_size": 1},
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 1},
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 1},
        {"type": "MaxPool2d", "kernel_size": 1},
        {"type": "AvgPool2d", "kernel_size": 1},
        {"type": "AdaptiveAvgPool2d", "output_size": 1},
        {"type": "BatchNorm2d"},
        {"type": "Dropout2d"},
        {"type": "LeakyReLU"},
        {"type": "Flatten"},
        {"type": "Dropout"},
        {"type": "BatchNorm1d"},
        {"type": "Linear", "out_features": 2, "name": "head"},
        {"type": "Linear", "out_features": 2},
        {"type": "LogSoftmax", "dim": 1},
        {"type": "Identity"},
    ]
    spec = load_spec({"input_shape": [3, 4, 4], "layers": layers})
    assert [layer.name for layer in spec.layers] == [
        "conv2",
        "conv3",
        "conv4",
        "pool1",
        "pool2",
        "pool3",
        "bn1",
        "drop1",
        "leakyrelu1",
        "flatten1",
        "drop2",
        "bn2",
        "head",
        "fc2",
        "logsoftmax1",
        "identity1",
    ]


def test_sequence_input_and_one_d_sizes_load():
    """[C, L] is an input shape; 1-d sizes take one integer or a list of one (as torch does)."""
    data = {
        "input_shape": [2, 50],
        "layers": [
            {"type": "Conv1d", "out_channels": 4, "kernel_size": [5], "padding": "same"},
            {"type": "MaxPool1d", "kernel_size": 2, "stride": [2]},
            {"type": "AdaptiveAvgPool1d", "output_size": [None]},
        ],
    }
    spec = load_spec(data)
    assert spec.input_shape == (2, 50)
    assert [layer.name for layer in spec.layers] == ["conv1", "pool1", "pool2"]
    assert load_spec(spec.to_dict()).to_dict() == spec.to_dict()


def test_default_names_of_the_newer_types():
    """SPEC.md: ``conv`` for every convolution, ``pool`` for every pooling, ``bn`` for every
    BatchNorm, ``norm`` for GroupNorm / LayerNorm / InstanceNorm2d, ``pad`` for padding, ``up``
    for Upsample; other types their lower-cased class name."""
    layers = [
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 1},
        {"type": "ConvTranspose2d", "out_channels": 2, "kernel_size": 1},
        {"type": "Conv1d", "out_channels": 2, "kernel_size": 1},
        {"type": "MaxPool1d", "kernel_size": 1},
        {"type": "AvgPool1d", "kernel_size": 1},
        {"type": "AdaptiveAvgPool1d", "output_size": 1},
        {"type": "BatchNorm1d"},
        {"type": "GroupNorm", "num_groups": 1},
        {"type": "LayerNorm"},
        {"type": "InstanceNorm2d"},
        {"type": "ZeroPad2d", "padding": 1},
        {"type": "Upsample", "scale_factor": 2.0},
        {"type": "PReLU"},
        {"type": "Hardswish"},
        {"type": "Mish"},
    ]
    names = [layer.name for layer in load_spec({"input_shape": [3, 4], "layers": layers}).layers]
    assert names == [
        "conv1",
        "conv2",
        "conv3",
        "pool1",
        "pool2",
        "pool3",
        "bn1",
        "norm1",
        "norm2",
        "norm3",
        "pad1",
        "up1",
        "prelu1",
        "hardswish1",
        "mish1",
    ]


def _layer_error(layer: dict, shape=(3, 8, 8)) -> str:
    with pytest.raises(SpecError) as info:
        load_spec({"input_shape": list(shape), "layers": [{"type": "ReLU"}, layer]})
    return str(info.value)


@pytest.mark.parametrize(
    "layer, expected",
    [
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": -1},
            "layer 2 (conv1): kernel_size must be a positive integer, got -1",
        ),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "stride": 0},
            "layer 2 (conv1): stride must be a positive integer, got 0",
        ),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "padding": -1},
            "layer 2 (conv1): padding must be a non-negative integer, got -1",
        ),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "padding": "full"},
            "padding must be an integer, a pair, 'same' or 'valid', got 'full'",
        ),
        ({"type": "Conv2d", "out_channels": 6}, "layer 2 (conv1): Conv2d needs kernel_size"),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": [3, 3, 3]},
            "kernel_size must be one integer or a pair [h, w], got [3, 3, 3]",
        ),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": True},
            "kernel_size must be an integer, got True",
        ),
        (
            {"type": "Conv1d", "out_channels": 6, "kernel_size": [3, 3]},
            "layer 2 (conv1): kernel_size must be one integer, got [3, 3]",
        ),
        (
            {"type": "Conv1d", "out_channels": 6, "kernel_size": 3, "padding": "full"},
            "padding must be an integer, 'same' or 'valid', got 'full'",
        ),
        (
            {"type": "Conv1d", "out_channels": 6, "kernel_size": 3, "padding": "same", "stride": 2},
            "padding='same' needs stride 1, got stride=2",
        ),
        (
            {"type": "MaxPool1d", "kernel_size": 2, "stride": [1, 1]},
            "layer 2 (pool1): stride must be one integer, got [1, 1]",
        ),
        (
            {"type": "AvgPool1d", "kernel_size": 2, "divisor_override": 2},
            "AvgPool1d has no argument 'divisor_override'",
        ),
        (
            {"type": "ConvTranspose2d", "out_channels": 2, "kernel_size": 3, "output_padding": 1},
            "output_padding must be smaller than either stride or dilation, got "
            "output_padding=1, stride=1, dilation=1",
        ),
        (
            {"type": "ConvTranspose2d", "out_channels": 3, "kernel_size": 3, "groups": 2},
            "groups=2 must divide out_channels=3",
        ),
        (
            {
                "type": "ConvTranspose2d",
                "out_channels": 2,
                "kernel_size": 3,
                "padding_mode": "reflect",
            },
            "padding_mode must be one of 'zeros', got 'reflect'",
        ),
        (
            {"type": "ConvTranspose2d", "out_channels": 2, "kernel_size": 3, "padding": "same"},
            "layer 2 (conv1): padding must be an integer, got 'same'",
        ),
        (
            {"type": "GroupNorm", "num_groups": 4, "num_channels": 6},
            "layer 2 (norm1): num_groups=4 must divide num_channels=6",
        ),
        ({"type": "GroupNorm"}, "layer 2 (norm1): GroupNorm needs num_groups"),
        (
            {"type": "LayerNorm", "normalized_shape": [2, 3, 4, 5]},
            "normalized_shape must be an integer or a list of 1 to 3 integers, got [2, 3, 4, 5]",
        ),
        (
            {"type": "LayerNorm", "normalized_shape": [8, 0]},
            "normalized_shape must be a positive integer, got 0",
        ),
        (
            {"type": "InstanceNorm2d", "momentum": 2},
            "layer 2 (norm1): momentum must be between 0.0 and 1.0, got 2",
        ),
        (
            {"type": "Upsample"},
            "layer 2 (up1): Upsample needs exactly one of size and scale_factor",
        ),
        (
            {"type": "Upsample", "size": 4, "scale_factor": 2.0},
            "Upsample needs exactly one of size and scale_factor",
        ),
        (
            {"type": "Upsample", "scale_factor": 2.0, "align_corners": True},
            "align_corners can only be set with the interpolating modes",
        ),
        (
            {"type": "Upsample", "size": 4, "recompute_scale_factor": True},
            "recompute_scale_factor is not meaningful with an explicit size",
        ),
        (
            {"type": "Upsample", "scale_factor": 0},
            "scale_factor must be between 1e-300 and 10000.0, got 0",
        ),
        (
            {"type": "Upsample", "scale_factor": [2.0, 2.0, 2.0]},
            "scale_factor must be a number or a list of one per spatial axis",
        ),
        (
            {"type": "Upsample", "scale_factor": 2.0, "align_corners": "yes"},
            "align_corners must be true, false or null, got 'yes'",
        ),
        (
            {"type": "Upsample", "scale_factor": 2.0, "mode": "trilinear"},
            "mode must be one of 'nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic'",
        ),
        (
            {"type": "ZeroPad2d", "padding": [1, 2]},
            "layer 2 (pad1): padding must be one integer or a list [left, right, top, bottom]",
        ),
        ({"type": "ZeroPad2d"}, "layer 2 (pad1): ZeroPad2d needs padding"),
        (
            {"type": "PReLU", "init": 0.1},
            "layer 2 (prelu1): init must be an object like {'weight': {'scheme': 'constant', "
            "'val': 0.1}} (a number is torch's own init argument",
        ),
        ({"type": "PReLU", "num_parameters": 0}, "num_parameters must be a positive integer"),
        (
            {"type": "PReLU", "init": {"bias": {"scheme": "zeros"}}},
            "layer 2 (prelu1): init: PReLU has no bias (its tensors: weight)",
        ),
        (
            {
                "type": "LayerNorm",
                "elementwise_affine": False,
                "init": {"weight": {"scheme": "ones"}},
            },
            "init.weight is set but this layer has no weight (elementwise_affine=False)",
        ),
        (
            {"type": "AdaptiveAvgPool1d", "output_size": [2, 2]},
            "output_size must be one integer, got [2, 2]",
        ),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": 2.5},
            "kernel_size must be an integer, got 2.5",
        ),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": "same"},
            "padding='same' needs stride 1, got stride=2",
        ),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "groups": 4},
            "groups=4 must divide out_channels=6",
        ),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "kernal_size": 3},
            "Conv2d has no argument 'kernal_size' (did you mean 'kernel_size'?)",
        ),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "padding_mode": "mirror"},
            "padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'mirror'",
        ),
        (
            {"type": "Conv2d", "out_channels": 6, "kernel_size": 3, "bias": "yes"},
            "bias must be true or false, got 'yes'",
        ),
        (
            {"type": "MaxPool2d", "kernel_size": 2, "padding": 2},
            "layer 2 (pool1): padding must be at most half of kernel_size",
        ),
        (
            {"type": "MaxPool2d", "kernel_size": 2, "return_indices": True},
            "return_indices=True is not supported",
        ),
        ({"type": "Dropout", "p": 1.5}, "layer 2 (drop1): p must be between 0.0 and 1.0, got 1.5"),
        ({"type": "Dropout", "p": float("nan")}, "p must be a number, got nan"),
        ({"type": "BatchNorm2d", "eps": 0}, "eps must be between"),
        ({"type": "BatchNorm2d", "momentum": "fast"}, "momentum must be a number"),
        ({"type": "Linear"}, "layer 2 (fc1): Linear needs out_features"),
        (
            {"type": "Conv3d"},
            "layer 2: type must be a known layer type, got 'Conv3d' (did you mean 'Conv2d'?)",
        ),
        ({"type": "ReLU", "name": "forward"}, "name 'forward' is reserved"),
        ({"type": "ReLU", "name": "class"}, "name 'class' is reserved"),
        ({"type": "ReLU", "name": "a b"}, "name must be a Python identifier"),
        ({"type": "ReLU", "name": "_hidden"}, "name must be a Python identifier"),
        ({"type": "ReLU", "name": "с1"}, "name must be a Python identifier"),  # Cyrillic с
        ({"type": "ReLU", "init": {"weight": {"scheme": "zeros"}}}, "ReLU has no weights"),
        (
            {
                "type": "Linear",
                "out_features": 3,
                "bias": False,
                "init": {"bias": {"scheme": "zeros"}},
            },
            "init.bias is set but this layer has no bias",
        ),
        (
            {
                "type": "Conv2d",
                "out_channels": 2,
                "kernel_size": 1,
                "init": {"weight": {"scheme": "eye"}},
            },
            "eye fits Linear weights, not a tensor with 4 dimensions",
        ),
        (
            {
                "type": "Conv2d",
                "out_channels": 2,
                "kernel_size": 1,
                "init": {"bias": {"scheme": "orthogonal"}},
            },
            "orthogonal fits weights with 2 or more dimensions, not a tensor with 1 dimension",
        ),
        (
            {"type": "Linear", "out_features": 2, "init": {"weight": {"scheme": "dirac"}}},
            "dirac fits conv weights",
        ),
        (
            {
                "type": "Linear",
                "out_features": 2,
                "init": {"weight": {"scheme": "normal", "sd": 1}},
            },
            "normal takes mean, std; unknown key 'sd'",
        ),
        (
            {"type": "Linear", "out_features": 2, "init": {"weight": {"scheme": "xavier"}}},
            "scheme must be one of",
        ),
        (
            {
                "type": "Linear",
                "out_features": 2,
                "init": {"weight": {"scheme": "uniform", "a": 1, "b": 0}},
            },
            "uniform needs a < b",
        ),
        (
            {
                "type": "Linear",
                "out_features": 2,
                "init": {"weight": {"scheme": "kaiming_normal", "mode": "fan"}},
            },
            "mode must be one of fan_in, fan_out",
        ),
        (
            {
                "type": "Linear",
                "out_features": 2,
                "init": {"weight": {"scheme": "xavier_normal", "gain": "relux"}},
            },
            "gain must be a positive number or a nonlinearity name",
        ),
        (
            {"type": "Linear", "out_features": 2, "init": {"weight": {"scheme": "sparse"}}},
            "sparse needs sparsity",
        ),
        (
            {"type": "Linear", "out_features": 2, "trainable": "no"},
            "trainable must be true or false",
        ),
    ],
)
def test_layer_messages(layer, expected):
    assert expected in _layer_error(layer)


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"input_shape": [3, 8, 8, 8]}, "input_shape must be [C, H, W], [C, L] or [F]"),
        ({"input_shape": []}, "input_shape must be [C, H, W], [C, L] or [F]"),
        ({"input_shape": [3, 0]}, "input_shape must be a positive integer, got 0"),
        ({"input_shape": [0]}, "input_shape must be a positive integer, got 0"),
        ({"input_shape": [3, 8, 8], "version": 2}, "unknown version 2"),
        ({"input_shape": [3, 8, 8], "seed": -1}, "seed must be between"),
        ({"input_shape": [3, 8, 8], "layers": {}}, "layers must be a list"),
        ({"input_shape": [3, 8, 8], "layers": [5]}, "layer 1: must be an object"),
        ({"input_shape": [3, 8, 8], "laeyrs": []}, "unknown key 'laeyrs' (did you mean 'layers'?)"),
        ({"input_shape": [3, 8, 8], "name": "x\ny"}, "name must be printable text"),
        (
            {"input_shape": [3, 8, 8], "init": {"ReLU": {}}},
            "'ReLU' is not a layer type with weights",
        ),
        (
            {"input_shape": [3, 8, 8], "init": {"Linear": {"gamma": {"scheme": "ones"}}}},
            "unknown tensor 'gamma'",
        ),
        (
            {"input_shape": [3, 8, 8], "init": {"PReLU": {"bias": {"scheme": "ones"}}}},
            "init.PReLU: PReLU has no bias (its tensors: weight)",
        ),
        (
            {
                "input_shape": [3, 8, 8],
                "init": {"BatchNorm2d": {"weight": {"scheme": "xavier_normal"}}},
            },
            "init.BatchNorm2d.weight: xavier_normal fits weights with 2 or more dimensions",
        ),
    ],
)
def test_top_level_messages(data, expected):
    with pytest.raises(SpecError) as info:
        load_spec(data)
    assert expected in str(info.value)


def test_spec_error_is_value_error_and_value_is_truncated():
    with pytest.raises(ValueError) as info:
        load_spec({"input_shape": [3, 8, 8], "layers": [{"type": "x" * 10_000}]})
    assert len(str(info.value)) < 200


def test_type_level_init_for_missing_tensor_is_ignored():
    data = {
        "input_shape": [4],
        "layers": [{"type": "Linear", "out_features": 2, "bias": False}],
        "init": {"Linear": {"bias": {"scheme": "ones"}}},
    }
    model = builder.build_model(data)
    assert [n for n, _ in model.named_parameters()] == ["fc1.weight"]


def test_class_names():
    from builder.spec import class_name

    assert class_name("my net") == "MyNet"
    assert class_name("3rd-try") == "Net3rdTry"
    assert class_name("none") == "NetNone"
    assert class_name(None) == "Net"
    assert class_name("'); __import__('os')") == "ImportOs"
    assert class_name("résumé") == "RSum"


def test_duplicate_explicit_names_and_free_numbers():
    with pytest.raises(SpecError, match="layer 2 \\(ReLU\\): name 'act' is used twice"):
        load_spec(
            {
                "input_shape": [4],
                "layers": [{"type": "ReLU", "name": "act"}, {"type": "ReLU", "name": "act"}],
            }
        )
    spec = load_spec(
        {"input_shape": [4], "layers": [{"type": "ReLU"}, {"type": "ReLU", "name": "relu1"}]}
    )
    assert [layer.name for layer in spec.layers] == ["relu2", "relu1"]


def test_hostile_json_values_are_spec_errors():
    with pytest.raises(SpecError):
        load_spec('{"input_shape": [' + "9" * 5000 + "]}")
    with pytest.raises(SpecError):
        load_spec({"input_shape": [4], "layers": [{"type": ["Linear"]}]})
    with pytest.raises(SpecError):
        load_spec({"input_shape": [4], "init": {"Linear": {"weight": {"scheme": {}}}}})
    with pytest.raises(SpecError):
        load_spec("[" * 100_000)


def test_limits_have_clear_messages():
    from builder import limits

    many = {"input_shape": [4], "layers": [{"type": "ReLU"}] * (limits.MAX_LAYERS + 1)}
    with pytest.raises(SpecError, match=f"at most {limits.MAX_LAYERS}"):
        load_spec(many)
    with pytest.raises(SpecError, match="elements per sample"):
        load_spec({"input_shape": [3, 4096, 4096]})
    huge = {"input_shape": [100_000], "layers": [{"type": "Linear", "out_features": 100_000}]}
    assert builder.analyze(huge).total_params == 10_000_100_000
    with pytest.raises(SpecError, match="building is limited"):
        builder.build_model(huge)
