"""Every init scheme on every tensor it fits, measured against torch's promise."""

from __future__ import annotations

import math

import pytest
import torch

import builder
from builder.initializers import SCHEMES, expected_std, fans
from builder.layers import TENSOR_NDIM
from builder.presets import preset

LINEAR = {"type": "Linear", "out_features": 300}  # weight 300x400: 120,000 values
CONV = {"type": "Conv2d", "out_channels": 32, "kernel_size": 5}  # weight 32x16x5x5: 12,800
BN = {"type": "BatchNorm2d"}
# weight 16x24x4x4: torch's fan_in is dim 1 times the kernel (24·16), not the input channels
CONV_T = {"type": "ConvTranspose2d", "out_channels": 24, "kernel_size": 4, "stride": 2}
CONV_1D = {"type": "Conv1d", "out_channels": 32, "kernel_size": 5}  # weight 32x16x5
LAYERS = {
    "Linear": ([400], LINEAR),
    "Conv2d": ([16, 12, 12], CONV),
    "BatchNorm2d": ([64, 4, 4], BN),
    "ConvTranspose2d": ([16, 6, 6], CONV_T),
    "Conv1d": ([16, 40], CONV_1D),
}

RANDOM_SCHEMES = [
    {"scheme": "normal"},
    {"scheme": "normal", "mean": 0.5, "std": 0.01},
    {"scheme": "uniform"},
    {"scheme": "uniform", "a": -0.3, "b": 0.1},
    {"scheme": "trunc_normal"},
    {"scheme": "trunc_normal", "mean": 0.0, "std": 1.0, "a": -0.5, "b": 1.5},
    {"scheme": "xavier_uniform"},
    {"scheme": "xavier_normal", "gain": 2.0},
    {"scheme": "xavier_normal", "gain": "tanh"},
    {"scheme": "kaiming_uniform"},
    {"scheme": "kaiming_normal", "nonlinearity": "relu"},
    {"scheme": "kaiming_normal", "a": 0.2, "mode": "fan_out", "nonlinearity": "leaky_relu"},
    {"scheme": "kaiming_uniform", "mode": "fan_out", "nonlinearity": "selu"},
    {"scheme": "orthogonal"},
    {"scheme": "orthogonal", "gain": "relu"},
    {"scheme": "sparse", "sparsity": 0.3, "std": 0.05},
    {"scheme": "default"},
]


def _fits(init: dict, ndim: int) -> bool:
    scheme = SCHEMES[init["scheme"]]
    return scheme.min_ndim <= ndim <= scheme.max_ndim


def _build(layer_type: str, tensor: str, init: dict, seed: int = 0):
    shape, layer = LAYERS[layer_type]
    data = {
        "input_shape": shape,
        "seed": seed,
        "layers": [dict(layer)],
        "init": {layer_type: {tensor: init}},
    }
    model = builder.build_model(data)
    return getattr(next(model.children()), tensor).detach()


CASES = [
    (layer_type, tensor, init)
    for init in RANDOM_SCHEMES
    for layer_type in LAYERS
    for tensor in ("weight", "bias")
    if _fits(init, TENSOR_NDIM[layer_type][tensor])
    and not (init["scheme"] == "sparse" and layer_type != "Linear")
    and not (init["scheme"] == "default" and layer_type == "BatchNorm2d")
]


def _tolerance(sigma: float, n: int, kurtosis: float = 3.0) -> float:
    """Six standard errors of a sample standard deviation of n draws."""
    return 6 * sigma * math.sqrt(max(kurtosis - 1, 0.8) / (4 * n)) + 1e-12


@pytest.mark.parametrize("layer_type, tensor, init", CASES, ids=lambda v: str(v))
def test_measured_std_matches_promise(layer_type, tensor, init):
    values = _build(layer_type, tensor, init)
    weight_shape = tuple(_build(layer_type, "weight", {"scheme": "default"}).shape)
    promised = expected_std(init, tuple(values.shape), layer_type, weight_shape)
    measured = values.std().item()
    n = values.numel()
    if init["scheme"] in ("orthogonal",):
        assert measured == pytest.approx(promised, rel=0.02)
    elif init["scheme"] == "sparse":
        rows = values.shape[0]
        zeros_per_column = (values == 0).sum(dim=0)
        assert torch.all(zeros_per_column == math.ceil(0.3 * rows))
        nonzero = values[values != 0]
        assert abs(nonzero.std().item() - 0.05) < _tolerance(0.05, nonzero.numel())
    else:
        assert abs(measured - promised) < _tolerance(promised, n), (measured, promised)
    # bounds where the scheme promises them
    fan_in, fan_out = fans(tuple(values.shape)) if values.dim() > 1 else (None, None)
    name = init["scheme"]
    if name == "uniform":
        assert values.min() >= init.get("a", 0) and values.max() <= init.get("b", 1)
    if name == "trunc_normal":
        assert values.min() >= init.get("a", -2) and values.max() <= init.get("b", 2)
    if name == "xavier_uniform":
        assert values.abs().max() <= math.sqrt(6 / (fan_in + fan_out))
    if name == "default":
        bound = 1 / math.sqrt(fans(weight_shape)[0])
        assert values.abs().max() <= bound
        assert values.abs().max() > 0.9 * bound or n < 50


@pytest.mark.parametrize(
    "init, value",
    [
        ({"scheme": "zeros"}, 0.0),
        ({"scheme": "ones"}, 1.0),
        ({"scheme": "constant", "val": 0.25}, 0.25),
    ],
)
@pytest.mark.parametrize("layer_type", list(LAYERS))
@pytest.mark.parametrize("tensor", ["weight", "bias"])
def test_constants(init, value, layer_type, tensor):
    values = _build(layer_type, tensor, init)
    assert torch.all(values == value)
    assert expected_std(init, tuple(values.shape), layer_type) == 0


def test_fans_are_torchs_for_every_weight_of_every_type():
    """Transposed convolutions included: torch reads dim 1 of their (in, out/groups, kH, kW)
    weight as fan_in. The oracle is torch's own ``_calculate_fan_in_and_fan_out`` on the built
    layer's weight."""
    from tests.cases import CASES, case_spec

    seen = set()
    for case in CASES:
        model = builder.build_model(case_spec(case))
        layer = next(model.children())
        weight = getattr(layer, "weight", None)
        if weight is None or weight.dim() < 2:
            continue
        seen.add(type(layer).__name__)
        torch_fans = torch.nn.init._calculate_fan_in_and_fan_out(weight)
        assert fans(tuple(weight.shape)) == torch_fans, case[0]
    with_matrices = {t for t, ndim in TENSOR_NDIM.items() if ndim["weight"] >= 2}
    assert with_matrices <= seen  # (LayerNorm too, on a [C, H, W] sample: its weight is 3-d)


def test_batchnorm_default_is_gamma_one_beta_zero():
    assert torch.all(_build("BatchNorm2d", "weight", {"scheme": "default"}) == 1)
    assert torch.all(_build("BatchNorm2d", "bias", {"scheme": "default"}) == 0)
    assert expected_std({"scheme": "default"}, (64,), "BatchNorm2d") == 0


def test_dirac_and_eye_patterns():
    conv = _build("Conv2d", "weight", {"scheme": "dirac"})
    expected = torch.zeros_like(conv)
    torch.nn.init.dirac_(expected)
    assert torch.equal(conv, expected)
    promised = expected_std({"scheme": "dirac"}, tuple(conv.shape), "Conv2d")
    assert promised == pytest.approx(conv.std().item())
    eye = _build("Linear", "weight", {"scheme": "eye"})
    assert torch.equal(eye, torch.eye(300, 400))
    assert expected_std({"scheme": "eye"}, (300, 400), "Linear") == pytest.approx(eye.std().item())


def test_dirac_groups():
    data = {
        "input_shape": [4, 6, 6],
        "layers": [{"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "groups": 2}],
        "init": {"Conv2d": {"weight": {"scheme": "dirac", "groups": 2}}},
    }
    weight = builder.build_model(data).conv1.weight.detach()
    reference = torch.empty(4, 2, 3, 3)
    torch.nn.init.dirac_(reference, groups=2)
    assert torch.equal(weight, reference)


@pytest.mark.parametrize("channels", [3, 4])
def test_dirac_groups_on_a_transposed_weight_follow_its_inferred_first_dimension(channels):
    """ConvTranspose2d's weight starts with in_channels, known only from the input: a groups
    that torch's dirac_ refuses is a SpecError at build and export (never torch's ValueError),
    and one it accepts draws torch's own pattern."""
    data = {
        "input_shape": [channels, 5, 5],
        "layers": [{"type": "ConvTranspose2d", "out_channels": 2, "kernel_size": 3}],
        "init": {"ConvTranspose2d": {"weight": {"scheme": "dirac", "groups": 2}}},
    }
    reference = torch.empty(channels, 2, 3, 3)
    try:
        torch.nn.init.dirac_(reference, groups=2)
    except ValueError:
        for make in (builder.build_model, builder.generate_code):
            with pytest.raises(builder.SpecError, match=r"layer 1 \(conv1\): dirac with groups=2"):
                make(data)
        return
    assert channels == 4
    assert torch.equal(builder.build_model(data).conv1.weight.detach(), reference)
    builder.generate_code(data)


def test_wrong_promise_would_be_caught():
    """The tolerance is tight enough to fail: a 5 % wrong std on 120,000 draws is caught."""
    values = _build("Linear", "weight", {"scheme": "normal", "std": 1.0})
    assert abs(values.std().item() - 1.05) > _tolerance(1.05, values.numel())


def test_same_spec_bit_identical_and_rng_restored():
    data = preset("VGG block with BatchNorm")
    data["init"]["Conv2d"]["weight"] = {"scheme": "kaiming_normal", "nonlinearity": "relu"}
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    first = builder.build_model(data).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    second = builder.build_model(data).state_dict()
    assert list(first) == list(second)
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = builder.build_model({**data, "seed": 1}).state_dict()
    assert not torch.equal(first["conv1.weight"], other["conv1.weight"])


def test_rng_stream_is_plain_torch():
    """Constructors in order, then schemes in order (weight then bias), exactly like plain code."""
    data = {
        "input_shape": [3, 8, 8],
        "seed": 5,
        "layers": [
            {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
            {"type": "Flatten"},
            {
                "type": "Linear",
                "out_features": 10,
                "init": {"weight": {"scheme": "kaiming_uniform", "nonlinearity": "relu"}},
            },
        ],
        "init": {
            "Conv2d": {
                "weight": {"scheme": "xavier_normal"},
                "bias": {"scheme": "normal", "std": 0.1},
            },
            "Linear": {"weight": {"scheme": "normal", "std": 0.01}, "bias": {"scheme": "uniform"}},
        },
    }
    model = builder.build_model(data)
    torch.manual_seed(5)
    conv = torch.nn.Conv2d(3, 4, 3)
    flat = torch.nn.Flatten()
    fc = torch.nn.Linear(144, 10)
    torch.nn.init.xavier_normal_(conv.weight)
    torch.nn.init.normal_(conv.bias, std=0.1)
    torch.nn.init.kaiming_uniform_(fc.weight, nonlinearity="relu")  # layer override: weight only
    torch.nn.init.uniform_(fc.bias)  # bias still from the type
    assert torch.equal(model.conv1.weight, conv.weight)
    assert torch.equal(model.conv1.bias, conv.bias)
    assert torch.equal(model.fc1.weight, fc.weight)
    assert torch.equal(model.fc1.bias, fc.bias)
    del flat
    assert model.init_plan["fc1.weight"]["scheme"] == "kaiming_uniform"
    assert model.init_plan["fc1.bias"]["scheme"] == "uniform"


def test_article_recipe():
    model = builder.build_model(preset())
    for name in ("conv1", "conv2"):
        assert torch.all(getattr(model, name).bias == 0)
    for name in ("fc1", "fc2", "fc3"):
        layer = getattr(model, name)
        assert torch.all(layer.bias == 0)
        assert layer.weight.std().item() == pytest.approx(0.01, rel=0.15)


def test_every_scheme_is_covered():
    covered = {init["scheme"] for init in RANDOM_SCHEMES} | {
        "zeros",
        "ones",
        "constant",
        "dirac",
        "eye",
    }
    assert covered == set(SCHEMES)
