"""``weight_histograms`` against independent oracles: torch itself, and sampling theory.

- Counts, edges and statistics are checked against ``torch.histc``, ``torch.std`` and an exact
  float64 binning of the same tensor.
- Every scheme on every tensor it fits (Conv2d / Linear / BatchNorm2d, weight and bias) is checked
  against the std it promises, with a tolerance derived from the tensor's size: the sample std of
  ``n`` draws from a distribution with kurtosis ``κ`` has standard error ``σ·sqrt((κ − 1) / 4n)``,
  and we allow ``Z`` of them. A test shows the tolerance is tight enough to catch a wrong promise.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import pytest
import torch
from torch import nn

import builder.histograms as H
from builder.histograms import Histogram, promised_curve, weight_histograms
from builder.initializers import fans
from builder.layers import PARAM_TYPES
from builder.model import build_model
from builder.presets import ARTICLE_INIT, preset

BINS = 60
Z = 5.0  # standard errors allowed; P(|N(0,1)| > 5) ≈ 6e-7 per check

# one network holding every tensor kind at sizes where sampling error is small
NET = {
    "input_shape": [16, 8, 8],
    "seed": 0,
    "layers": [
        {"type": "Conv2d", "out_channels": 1024, "kernel_size": 3, "padding": 1},  # 147,456 weights
        {"type": "BatchNorm2d"},  # 1,024 gammas, 1,024 betas
        {"type": "ReLU"},
        {"type": "AdaptiveAvgPool2d", "output_size": 1},
        {"type": "Flatten"},
        {"type": "Linear", "out_features": 256},  # 262,144 weights, 256 biases
    ],
}
TENSORS = {
    ("Conv2d", "weight"): "conv1.weight",
    ("Conv2d", "bias"): "conv1.bias",
    ("Linear", "weight"): "fc1.weight",
    ("Linear", "bias"): "fc1.bias",
    ("BatchNorm2d", "weight"): "bn1.weight",
    ("BatchNorm2d", "bias"): "bn1.bias",
}

NORMAL, UNIFORM = 3.0, 1.8  # kurtosis (not excess)

# (INIT, kurtosis of the values it draws, or "exact" for deterministic patterns)
SCHEMES = [
    ({"scheme": "default"}, UNIFORM),
    ({"scheme": "normal"}, NORMAL),
    ({"scheme": "normal", "mean": 0.5, "std": 0.02}, NORMAL),
    ({"scheme": "uniform"}, UNIFORM),
    ({"scheme": "uniform", "a": -0.3, "b": 0.1}, UNIFORM),
    ({"scheme": "trunc_normal"}, "trunc"),
    ({"scheme": "trunc_normal", "mean": 0.1, "std": 0.5, "a": -0.2, "b": 1.5}, "trunc"),
    ({"scheme": "xavier_uniform"}, UNIFORM),
    ({"scheme": "xavier_normal"}, NORMAL),
    ({"scheme": "xavier_normal", "gain": 2.0}, NORMAL),
    ({"scheme": "xavier_uniform", "gain": "tanh"}, UNIFORM),
    ({"scheme": "kaiming_uniform"}, UNIFORM),
    ({"scheme": "kaiming_uniform", "a": 5**0.5}, UNIFORM),
    ({"scheme": "kaiming_normal", "nonlinearity": "relu"}, NORMAL),
    ({"scheme": "kaiming_normal", "a": 0.2, "mode": "fan_out"}, NORMAL),
    ({"scheme": "kaiming_uniform", "mode": "fan_out", "nonlinearity": "selu"}, UNIFORM),
    ({"scheme": "kaiming_normal", "nonlinearity": "tanh"}, NORMAL),
    ({"scheme": "orthogonal"}, NORMAL),
    ({"scheme": "orthogonal", "gain": "relu"}, NORMAL),
    ({"scheme": "sparse", "sparsity": 0.25, "std": 0.05}, "sparse"),  # 256 rows: 64 zeros a column
    ({"scheme": "dirac"}, "exact"),
    ({"scheme": "eye"}, "exact"),
    ({"scheme": "zeros"}, "exact"),
    ({"scheme": "ones"}, "exact"),
    ({"scheme": "constant", "val": -0.7}, "exact"),
]
NDIM = {"weight": {"Conv2d": 4, "Linear": 2, "BatchNorm2d": 1}, "bias": {}}


def _fits(init: dict, layer_type: str, tensor: str) -> bool:
    from builder.initializers import SCHEMES as TABLE

    ndim = NDIM[tensor].get(layer_type, 1)
    scheme = TABLE[init["scheme"]]
    return scheme.min_ndim <= ndim <= scheme.max_ndim


CASES = [
    pytest.param(init, kurt, layer_type, tensor, id=f"{layer_type}.{tensor}-{i}-{init['scheme']}")
    for i, (init, kurt) in enumerate(SCHEMES)
    for (layer_type, tensor) in TENSORS
    if _fits(init, layer_type, tensor)
]


@functools.cache
def _trunc_kurtosis(mean: float, std: float, a: float, b: float) -> float:
    """Kurtosis of a truncated normal, by Simpson integration of its density (independent of
    ``builder``'s closed form)."""
    steps = 20_000
    h = (b - a) / steps
    xs = [a + i * h for i in range(steps + 1)]
    ws = [1 if i in (0, steps) else (4 if i % 2 else 2) for i in range(steps + 1)]
    pdf = [w * math.exp(-0.5 * ((x - mean) / std) ** 2) for x, w in zip(xs, ws)]
    mass = sum(pdf)
    mu = sum(p * x for p, x in zip(pdf, xs)) / mass
    m2 = sum(p * (x - mu) ** 2 for p, x in zip(pdf, xs)) / mass
    m4 = sum(p * (x - mu) ** 4 for p, x in zip(pdf, xs)) / mass
    return m4 / (m2 * m2)


def _kurtosis(init: dict, kurt: float | str, numel: int, rows: int) -> float:
    if kurt == "trunc":
        mean, std = init.get("mean", 0.0), init.get("std", 1.0)
        return _trunc_kurtosis(mean, std, init.get("a", -2.0), init.get("b", 2.0))
    if kurt == "sparse":
        nonzero = 1 - math.ceil(init["sparsity"] * rows) / rows
        return NORMAL / nonzero  # a zero spike plus N(0, σ²): μ4 = 3σ⁴·p, σ_x² = σ²·p
    return float(kurt)


def std_tolerance(sigma: float, kurtosis: float, n: int) -> float:
    """``Z`` standard errors of a sample std: ``σ·sqrt((κ − 1) / 4n)``."""
    return Z * sigma * math.sqrt((kurtosis - 1) / (4 * n))


def _hist_for(
    init: dict, layer_type: str, tensor: str, seed: int = 0
) -> tuple[Histogram, nn.Module]:
    spec = dict(NET, seed=seed, init={layer_type: {tensor: init}})
    model = build_model(spec)
    name = TENSORS[(layer_type, tensor)]
    hist = next(h for h in weight_histograms(model) if h.name == name)
    return hist, model


@pytest.fixture(scope="module")
def article_model() -> nn.Module:
    return build_model(preset())


# --- the scheme table --------------------------------------------------------------------------


@pytest.mark.parametrize(("init", "kurt", "layer_type", "tensor"), CASES)
def test_every_scheme_keeps_its_promise(init, kurt, layer_type, tensor):
    hist, model = _hist_for(init, layer_type, tensor)
    values = model.get_parameter(hist.name).detach()
    assert hist.scheme == init
    assert hist.layer_type == layer_type and hist.tensor == tensor
    assert sum(hist.counts) == hist.numel == values.numel()
    assert hist.expected_std is not None
    if kurt == "exact":
        # deterministic patterns: the promise is the exact Bessel-corrected std
        assert hist.std == pytest.approx(hist.expected_std, rel=1e-5, abs=1e-7)
        return
    rows = values.shape[0]
    tolerance = std_tolerance(
        hist.expected_std, _kurtosis(init, kurt, hist.numel, rows), hist.numel
    )
    assert abs(hist.std - hist.expected_std) <= tolerance, (hist.std, hist.expected_std, tolerance)


@pytest.mark.parametrize(
    ("init", "layer_type", "scale"),
    [
        ({"scheme": "xavier_normal"}, "Conv2d", 1.02),  # a 2 % error in the formula
        ({"scheme": "kaiming_normal", "nonlinearity": "relu"}, "Linear", 1 / 2**0.5),  # gain 1
        ({"scheme": "default"}, "Linear", 3**0.5),  # the bound 1/sqrt(fan_in) taken as the std
        ({"scheme": "uniform", "a": -0.3, "b": 0.1}, "Conv2d", 0.98),
    ],
)
def test_the_tolerance_catches_a_wrong_promise(init, layer_type, scale):
    """The same check as above fails when the promised std is slightly wrong."""
    hist, _ = _hist_for(init, layer_type, "weight")
    kurt = NORMAL if "normal" in init["scheme"] else UNIFORM
    wrong = hist.expected_std * scale
    assert abs(hist.std - hist.expected_std) <= std_tolerance(hist.expected_std, kurt, hist.numel)
    assert abs(hist.std - wrong) > std_tolerance(wrong, kurt, hist.numel)


def test_sparse_promise_counts_whole_rows():
    spec = {
        "input_shape": [8_000],
        "layers": [{"type": "Linear", "out_features": 5}],  # 5 rows: ceil(0.1·5) = 1 zero = 20 %
        "init": {"Linear": {"weight": {"scheme": "sparse", "sparsity": 0.1, "std": 1.0}}},
    }
    hist = weight_histograms(build_model(spec))[0]
    tolerance = std_tolerance(hist.expected_std, NORMAL / 0.8, hist.numel)
    assert abs(hist.std - hist.expected_std) <= tolerance


def test_default_promise_is_what_reset_parameters_draws():
    """PyTorch's default: kaiming_uniform_(a=√5) for weights, U(±1/sqrt(fan_in)) for biases."""
    model = build_model(dict(NET, init={}))
    for hist in weight_histograms(model):
        if hist.layer_type == "BatchNorm2d":
            assert hist.expected_std == 0.0 and hist.is_constant
            assert hist.min == (1.0 if hist.tensor == "weight" else 0.0)
            continue
        owner = model.get_submodule(hist.layer)
        bound = 1 / math.sqrt(fans(tuple(owner.weight.shape))[0])
        assert hist.expected_std == pytest.approx(bound / math.sqrt(3))
        assert -bound <= hist.min < hist.max <= bound
        assert hist.promise.kind == "uniform"
        assert (hist.promise.low, hist.promise.high) == pytest.approx((-bound, bound))


def test_default_promise_of_every_type_in_the_table_is_what_torch_drew():
    """Every layer type with weights, as its constructor leaves it: a constant tensor (norms'
    ones and zeros, PReLU's 0.25) is promised std 0 and no curve; a drawn one U(±1/sqrt(fan_in))
    with fan_in as torch's ``_calculate_fan_in_and_fan_out`` reads the layer's weight."""
    from tests.cases import CASES, case_spec

    seen = set()
    for case in CASES:
        model = build_model(case_spec(case))
        for hist in weight_histograms(model):
            seen.add(hist.layer_type)
            values = model.get_parameter(hist.name).detach()
            if bool(torch.all(values == values.flatten()[0])):
                assert hist.expected_std == 0.0 and hist.promise is None, (case[0], hist.name)
                continue
            weight = model.get_submodule(hist.layer).weight
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
            bound = 1 / math.sqrt(fan_in)
            assert hist.expected_std == pytest.approx(bound / math.sqrt(3)), (case[0], hist.name)
            assert hist.promise.kind == "uniform"
            assert (hist.promise.low, hist.promise.high) == pytest.approx((-bound, bound))
            assert -bound <= hist.min <= hist.max <= bound
    assert seen == set(PARAM_TYPES)


def test_article_init_histograms(article_model):
    hists = weight_histograms(article_model)
    assert [h.name for h in hists] == [n for n, _ in article_model.named_parameters()]
    for hist in hists:
        assert hist.scheme == article_model.init_plan[hist.name]
        assert hist.scheme == ARTICLE_INIT[hist.layer_type][hist.tensor]
    biases = [h for h in hists if h.tensor == "bias"]
    assert all(h.is_constant and h.min == 0.0 and h.std == 0.0 for h in biases)
    fc1 = next(h for h in hists if h.name == "fc1.weight")
    assert fc1.expected_std == 0.01 and fc1.promise.kind == "normal"


# --- counts, edges and statistics against torch ------------------------------------------------


def _exact_counts(values: torch.Tensor, edges: list[float]) -> list[int]:
    """Bin in float64 against the exact edges (histc's convention: last bin closed)."""
    v = values.detach().double().reshape(-1)
    e = torch.tensor(edges, dtype=torch.float64)
    index = torch.bucketize(v, e, right=True) - 1
    index = index.clamp(0, len(edges) - 2)
    return torch.bincount(index, minlength=len(edges) - 1).tolist()


def _near_edges(values: torch.Tensor, edges: list[float]) -> int:
    """Values within float32 rounding of an inner edge: the only ones binning may disagree on.

    Positions are computed as ``(x − min) · bins / (max − min)`` in float32, whose error is a few
    ulps of the range."""
    v = values.detach().double().reshape(-1)
    e = torch.tensor(edges[1:-1], dtype=torch.float64)
    band = 8 * torch.finfo(torch.float32).eps * (edges[-1] - edges[0])
    return int((((v[:, None] - e[None, :]).abs()) <= band).any(dim=1).sum())


TENSOR_MAKERS = {
    "normal": lambda g: torch.randn(3000, 7, generator=g),
    "uniform_offset": lambda g: torch.rand(20_000, generator=g) * 4 + 10,
    "skewed": lambda g: torch.randn(5000, generator=g).exp(),
    "far_from_zero": lambda g: 1000 + 1e-3 * torch.randn(10_000, generator=g),
    "tiny": lambda g: 1e-30 * torch.randn(5000, generator=g),
    "huge_range": lambda g: torch.tensor([-3e38, 0.0, 1.0, 3e38]),
    "two_values": lambda g: torch.tensor([0.25, -0.5]),
    "integers": lambda g: torch.randint(-5, 6, (4000,), generator=g).float(),
}


@pytest.mark.parametrize("kind", list(TENSOR_MAKERS))
def test_binning_and_stats_match_torch(kind):
    g = torch.Generator().manual_seed(1)
    values = TENSOR_MAKERS[kind](g)
    module = nn.Module()
    module.w = nn.Parameter(values.clone())
    (hist,) = weight_histograms(module, bins=BINS)
    assert hist.name == "w" and hist.layer == "" and hist.tensor == "w"
    assert hist.numel == values.numel() and hist.shape == tuple(values.shape)
    assert len(hist.counts) == BINS and len(hist.edges) == BINS + 1
    assert sum(hist.counts) == values.numel()
    assert hist.min == values.min().item() == hist.edges[0]
    assert hist.max == values.max().item() == hist.edges[-1]
    assert all(isinstance(c, int) for c in hist.counts)
    assert all(a < b for a, b in zip(hist.edges, hist.edges[1:]))
    exact_std = values.double().std().item()
    assert hist.mean == pytest.approx(values.double().mean().item(), rel=1e-6, abs=exact_std * 1e-6)
    assert hist.std == pytest.approx(exact_std, rel=1e-5)
    torch_std = torch.std(values).item()
    if math.isfinite(torch_std):  # float32 overflows on the huge range; float64 does not
        assert hist.std == pytest.approx(torch_std, rel=1e-4)
    near = _near_edges(values, hist.edges)
    exact = _exact_counts(values, hist.edges)
    assert sum(abs(a - b) for a, b in zip(hist.counts, exact)) <= 2 * near
    if math.isfinite(hist.max - hist.min):
        ref = torch.histc(values, BINS, hist.min, hist.max).long().tolist()
        assert sum(abs(a - b) for a, b in zip(hist.counts, ref)) <= 2 * near


@pytest.mark.parametrize("pipeline", [False, True])
def test_chunked_passes_agree_with_one_chunk(monkeypatch, pipeline):
    g = torch.Generator().manual_seed(2)
    module = nn.Linear(300, 70)  # 21,000 weights
    with torch.no_grad():
        module.weight.copy_(torch.randn(70, 300, generator=g) * 0.3 + 0.05)
    whole = weight_histograms(module)
    monkeypatch.setattr(H, "CHUNK", 1000)  # 21 chunks, the last one short
    monkeypatch.setattr(H, "PIPELINE", pipeline)
    chunked = weight_histograms(module)
    for a, b in zip(whole, chunked):
        assert a.counts == b.counts and a.edges == b.edges
        assert (a.min, a.max) == (b.min, b.max)
        assert b.mean == pytest.approx(a.mean, rel=1e-6)
        assert b.std == pytest.approx(a.std, rel=1e-6)


@pytest.mark.parametrize("bins", [1, 2, 7, 60, 255])
def test_bin_count_is_respected(bins):
    g = torch.Generator().manual_seed(3)
    module = nn.Module()
    module.w = nn.Parameter(torch.randn(999, generator=g))
    (hist,) = weight_histograms(module, bins=bins)
    assert len(hist.counts) == bins and len(hist.edges) == bins + 1 and sum(hist.counts) == 999
    ref = torch.histc(module.w.detach(), bins, hist.min, hist.max).long().tolist()
    near = _near_edges(module.w, hist.edges)
    assert sum(abs(a - b) for a, b in zip(hist.counts, ref)) <= 2 * near


@pytest.mark.parametrize("bins", [0, -3, 2.5, True, "60"])
def test_bad_bins_are_refused(bins):
    with pytest.raises(ValueError, match="bins"):
        weight_histograms(nn.Linear(2, 2), bins=bins)


@pytest.mark.parametrize("value", [0.0, 1.0, -0.7, 3e5])
@pytest.mark.parametrize("bins", [60, 7])
def test_constant_tensors(value, bins):
    module = nn.Module()
    module.w = nn.Parameter(torch.full((4, 5), value))
    (hist,) = weight_histograms(module, bins=bins)
    value = module.w[0, 0].item()  # the float32 value
    assert hist.is_constant and hist.std == 0.0
    assert hist.min == hist.max == hist.mean == value
    assert sum(hist.counts) == 20 and hist.counts[bins // 2] == 20
    lo, hi = hist.edges[0], hist.edges[-1]
    assert lo < value < hi and (hi - value) == pytest.approx(value - lo)
    assert hi - lo <= 2 * H.CONSTANT_HALF_WIDTH * max(1.0, abs(value)) * (1 + 1e-9)
    k = bins // 2  # the value's bin, by the [left, right) convention
    assert hist.edges[k] <= value < hist.edges[k + 1]


def test_one_element_tensor():
    module = nn.Module()
    module.w = nn.Parameter(torch.tensor([0.375]))
    (hist,) = weight_histograms(module)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert math.isnan(torch.std(module.w.detach()).item())  # why we report 0.0 instead
    assert hist.std == 0.0 and hist.mean == hist.min == hist.max == 0.375
    assert sum(hist.counts) == 1 and hist.numel == 1


def test_one_element_tensor_with_a_scheme():
    spec = {
        "input_shape": [3],
        "layers": [{"type": "Linear", "out_features": 1, "bias": True}],
        "init": {"Linear": {"bias": {"scheme": "normal", "std": 0.5}}},
    }
    weight, bias = weight_histograms(build_model(spec))
    assert bias.numel == 1 and bias.std == 0.0 and sum(bias.counts) == 1
    assert bias.expected_std == 0.5  # the promise stands; one value cannot show a spread
    assert weight.expected_std == pytest.approx(1 / math.sqrt(3 * 3))


def test_empty_tensor():
    module = nn.Module()
    module.w = nn.Parameter(torch.empty(0, 4))
    (hist,) = weight_histograms(module)
    assert hist.numel == 0 and sum(hist.counts) == 0 and len(hist.edges) == BINS + 1
    assert hist.std == 0.0


def test_nonfinite_values_are_left_out():
    values = torch.tensor([1.0, 2.0, float("nan"), 3.0, float("inf"), -float("inf"), 4.0])
    module = nn.Module()
    module.w = nn.Parameter(values)
    (hist,) = weight_histograms(module, bins=3)
    finite = values[torch.isfinite(values)]
    assert hist.nonfinite == 3 and sum(hist.counts) == 4 == hist.numel - hist.nonfinite
    assert (hist.min, hist.max) == (1.0, 4.0)
    assert hist.std == pytest.approx(torch.std(finite).item())
    assert hist.counts == torch.histc(finite, 3, 1.0, 4.0).long().tolist()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_dtypes(dtype):
    g = torch.Generator().manual_seed(4)
    module = nn.Linear(50, 40).to(dtype)
    with torch.no_grad():
        module.weight.copy_(torch.randn(40, 50, generator=g))
    hist = weight_histograms(module)[0]
    values = module.weight.detach().double()
    assert sum(hist.counts) == 2000
    assert (hist.min, hist.max) == (values.min().item(), values.max().item())
    assert hist.std == pytest.approx(values.std().item(), rel=1e-5)


def test_non_contiguous_parameter():
    module = nn.Module()
    module.w = nn.Parameter(torch.arange(12.0).reshape(3, 4).t())
    assert not module.w.is_contiguous()
    (hist,) = weight_histograms(module, bins=12)
    assert hist.counts == [1] * 12 and hist.shape == (4, 3)


def test_plain_module_has_no_promise():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 2))
    model.extra = nn.Parameter(torch.ones(3))
    hists = weight_histograms(model)
    assert [h.name for h in hists] == [n for n, _ in model.named_parameters()]
    by_name = {h.name: h for h in hists}
    assert (by_name["0.weight"].layer, by_name["0.weight"].tensor) == ("0", "weight")
    assert by_name["0.weight"].layer_type == "Conv2d"
    assert by_name["1.bias"].layer_type == "BatchNorm2d"
    assert (by_name["extra"].layer, by_name["extra"].layer_type) == ("", "Sequential")
    assert all(h.scheme is None and h.expected_std is None and h.promise is None for h in hists)
    assert all(promised_curve(h) == ([], []) for h in hists)


def test_model_is_left_untouched(article_model):
    before = {k: v.clone() for k, v in article_model.state_dict().items()}
    hists = weight_histograms(article_model)
    after = article_model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in article_model.parameters())
    for hist in hists:  # plain Python data: nothing refers back to torch
        for field in dataclasses.fields(hist):
            assert not isinstance(getattr(hist, field.name), torch.Tensor)


# --- the promised curve ------------------------------------------------------------------------


def _expected_counts(hist: Histogram) -> list[float]:
    """Expected count per bin from the promise's density at the bin centre."""
    scale = hist.numel * hist.bin_width
    return [scale * hist.promise.pdf(0.5 * (a + b)) for a, b in zip(hist.edges, hist.edges[1:])]


@pytest.mark.parametrize(
    ("init", "layer_type"),
    [
        ({"scheme": "xavier_normal"}, "Conv2d"),
        ({"scheme": "kaiming_uniform", "nonlinearity": "relu"}, "Linear"),
        ({"scheme": "default"}, "Conv2d"),
        ({"scheme": "trunc_normal", "mean": 0.1, "std": 0.5, "a": -0.2, "b": 1.5}, "Linear"),
        ({"scheme": "normal", "mean": 0.5, "std": 0.02}, "Linear"),
        ({"scheme": "orthogonal"}, "Linear"),
    ],
)
def test_promised_density_matches_the_drawn_counts(init, layer_type):
    """Each bin's count is within Poisson error of the promise (torch's draws are the oracle)."""
    hist, _ = _hist_for(init, layer_type, "weight")
    expected = _expected_counts(hist)
    assert sum(expected) == pytest.approx(hist.numel, rel=0.02)
    for count, e in zip(hist.counts[1:-1], expected[1:-1]):  # end bins are cut at min / max
        # Poisson error, plus the density's curvature across a bin (≤ 2 % of the count here)
        assert abs(count - e) <= Z * math.sqrt(e) + 0.02 * e + 2


def test_promised_curve_is_scaled_to_the_counts():
    hist, _ = _hist_for({"scheme": "uniform", "a": -0.3, "b": 0.1}, "Linear", "weight")
    xs, ys = promised_curve(hist, points=100)
    assert xs == sorted(xs) and len(xs) == len(ys) >= 100
    level = hist.numel * hist.bin_width / 0.4
    inside = [y for x, y in zip(xs, ys) if -0.3 <= x <= 0.1]
    outside = [y for x, y in zip(xs, ys) if not -0.3 <= x <= 0.1]
    assert inside and all(y == pytest.approx(level) for y in inside)
    assert all(y == 0 for y in outside)
    assert sum(hist.counts) / BINS == pytest.approx(level, rel=0.01)  # the bars' mean height


def test_sparse_curve_describes_the_nonzero_part():
    hist, _ = _hist_for({"scheme": "sparse", "sparsity": 0.25, "std": 0.05}, "Linear", "weight")
    assert hist.promise.kind == "normal" and hist.promise.mass == pytest.approx(0.75)
    expected = _expected_counts(hist)
    assert sum(expected) == pytest.approx(0.75 * hist.numel, rel=0.02)


@pytest.mark.parametrize(
    "init", [{"scheme": "zeros"}, {"scheme": "constant", "val": 2.0}, {"scheme": "eye"}]
)
def test_no_curve_without_a_density(init):
    hist, _ = _hist_for(init, "Linear", "weight")
    assert hist.promise is None and promised_curve(hist) == ([], [])


def test_thread_setting_is_restored():
    threads = torch.get_num_threads()
    weight_histograms(nn.Linear(100, 100))
    assert torch.get_num_threads() == threads
    module = nn.Module()
    module.z = nn.Parameter(torch.zeros(3, dtype=torch.complex64))
    with pytest.raises(TypeError, match="complex"):
        weight_histograms(module)
    assert torch.get_num_threads() == threads


def test_overlapping_calls_restore_the_thread_count():
    """Sessions run histograms concurrently: the process must end with its thread count intact."""
    import threading

    import builder
    from builder.histograms import weight_histograms
    from builder.presets import preset

    before = torch.get_num_threads()
    model = builder.build_model(preset("VGG block with BatchNorm"))
    workers = [threading.Thread(target=weight_histograms, args=(model,)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert torch.get_num_threads() == before
