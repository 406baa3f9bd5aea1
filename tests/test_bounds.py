"""Hardening: no single design can stall or exhaust the server through the heavy work.

The figures the limits count are checked against independent oracles: torchinfo's multiply-adds,
window elements counted by torch's own pooling, activation elements measured in a real forward
pass, and the time torch's initializers really take.
"""

from __future__ import annotations

import math
import re
import time

import pytest
import torch
import torch.nn.functional as F
import torchinfo

from builder import SpecError, analyze, build_model, load_spec
from builder.initializers import init_seconds
from builder.limits import (
    MAX_HEAVY_MACS,
    MAX_INIT_SECONDS,
    MAX_PASS_MACS,
    MAX_SIGNAL_ELEMENTS,
    MAX_TRAIN_MACS,
    POOL_WEIGHT,
    STATS_WEIGHT,
)
from builder.model import check_init_cost
from builder.presets import preset
from builder.signal import (
    activation_stats,
    compare_plans,
    heavy_macs,
    signal_batch_size,
    signal_elements,
)
from builder.training import train, training_batch_limit

PLAN = {"Conv2d": {"weight": {"scheme": "kaiming_normal"}}}


def conv(out: int, kernel: int, **kw: object) -> dict:
    return {"type": "Conv2d", "out_channels": out, "kernel_size": kernel, **kw}


def torchinfo_macs(design: dict) -> int:
    model = build_model(design)
    summary = torchinfo.summary(model, input_size=(1, *design["input_shape"]), verbose=0)
    return summary.total_mult_adds


def measured_signal_elements(design: dict) -> int:
    """The input batch, plus the largest layer input and output alive together, in a real
    forward pass of one sample."""
    model = build_model(design)
    sizes: list[int] = []
    handles = [
        m.register_forward_hook(lambda m, a, out: sizes.append(a[0].numel() + out.numel()))
        for m in model.children()
    ]
    x = torch.zeros(1, *design["input_shape"])
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return x.numel() + max(sizes)


# --- the figures -----------------------------------------------------------------------------

WIDE = {
    "input_shape": [3, 32, 32],
    "layers": [conv(64, 3, padding=1), {"type": "ReLU"}, conv(32, 3), {"type": "Flatten"}],
}


def test_heavy_macs_are_torchinfos_for_wide_convolutions_and_linears():
    design = {**WIDE, "layers": [*WIDE["layers"], {"type": "Linear", "out_features": 10}]}
    assert heavy_macs(design) == torchinfo_macs(design)


def test_pooling_windows_are_counted_by_torchs_own_pooling():
    design = {
        "input_shape": [3, 40, 40],
        "layers": [{"type": "MaxPool2d", "kernel_size": 7, "stride": 1}],
    }
    # each output sums its whole window of ones (no padding): the window elements, by torch
    windows = F.avg_pool2d(torch.ones(1, 3, 40, 40), 7, 1, divisor_override=1).sum().item()
    assert heavy_macs(design) == POOL_WEIGHT * windows


def test_signal_elements_are_what_a_forward_pass_holds():
    for design in (WIDE, preset(), preset("VGG block with BatchNorm")):
        assert signal_elements(design) == measured_signal_elements(design)


def test_signal_batch_size_is_the_tightest_cap():
    design = {"input_shape": [3, 256, 256], "layers": [conv(64, 5, padding=2), {"type": "ReLU"}]}
    macs, elements = torchinfo_macs(design), measured_signal_elements(design)
    outputs = sum(row.activations for row in analyze(design).layers)
    fits = min(MAX_SIGNAL_ELEMENTS // elements, MAX_PASS_MACS // (macs + STATS_WEIGHT * outputs))
    assert 2 <= fits < 512
    assert signal_batch_size(design, 512) == fits
    assert signal_batch_size(design, 2) == 2
    with pytest.raises(ValueError, match="batch_size"):
        signal_batch_size(design, 1)


# --- signal ------------------------------------------------------------------------------------

# 2.6·10¹³ multiply-adds per sample, with no more parameters than a small MLP
HUGE_KERNEL = {
    "input_shape": [3, 1024, 1024],
    "layers": [conv(8, 1023, padding="same")],
}
# 21.8 G multiply-adds per sample (torchinfo), a few seconds a batch: over MAX_HEAVY_MACS
OVER_MACS = {"input_shape": [3, 400, 400], "layers": [conv(64, 63, stride=2)]}


def test_the_huge_kernel_design_is_refused_naming_the_figure_and_the_limit():
    # torch's convolution arithmetic: every weight and the bias at each of the 1024² positions
    macs = (8 * 3 * 1023 * 1023 + 8) * 1024 * 1024
    figure = re.escape(f"{macs / 1e12:.3g} T multiply-adds")
    with pytest.raises(SpecError, match=rf"layer 1 \(conv1\), {figure}.*limit is 20 G"):
        signal_batch_size(HUGE_KERNEL, 2)


def test_over_the_multiply_add_limit_signal_is_refused_before_any_work():
    assert torchinfo_macs(OVER_MACS) > MAX_HEAVY_MACS
    model = build_model(OVER_MACS)
    start = time.perf_counter()
    with pytest.raises(SpecError, match="multiply-adds per sample"):
        activation_stats(model, batch_size=2)
    with pytest.raises(SpecError, match="multiply-adds per sample"):
        compare_plans(OVER_MACS, PLAN, {}, batch_size=2)
    assert time.perf_counter() - start < 1.0


def test_a_parameterless_design_with_huge_activations_is_refused():
    """No parameters at all, 48 M activation elements per sample: 2 samples are over 50 M."""
    design = {
        "input_shape": [3, 64, 64],
        "layers": [{"type": "AdaptiveAvgPool2d", "output_size": 4000}],
    }
    model = build_model(design)
    assert sum(p.numel() for p in model.parameters()) == 0
    with pytest.raises(SpecError, match=r"activation elements per sample.*limit is 50,000,000"):
        activation_stats(model, batch_size=2)
    with pytest.raises(SpecError, match="activation elements per sample"):
        compare_plans(design, {}, {}, batch_size=2)


def test_a_batch_over_the_cap_is_refused_with_the_batch_that_fits():
    design = {"input_shape": [3, 1024, 1024], "layers": [{"type": "ReLU"}]}
    fits = MAX_SIGNAL_ELEMENTS // measured_signal_elements(design)  # 9.4 M a sample: 5
    model = build_model(design)
    with pytest.raises(SpecError, match=f"use batch_size {fits} or less"):
        activation_stats(model, batch_size=fits + 1)
    assert activation_stats(model, batch_size=2)[-1].shape == (3, 1024, 1024)


def test_plain_modules_are_the_callers_own_and_not_bounded():
    layer = torch.nn.Linear(4, 2)
    assert len(activation_stats(layer, input_shape=[4], batch_size=600)) == 2


# --- training ----------------------------------------------------------------------------------


def _ten_way(*layers: dict, shape: list[int]) -> dict:
    tail = [{"type": "Flatten"}, {"type": "Linear", "out_features": 10}]
    return {"input_shape": shape, "layers": [*layers, *tail]}


def test_training_refuses_a_design_over_its_multiply_add_limit():
    design = _ten_way(conv(128, 5, padding=2), conv(16, 3, padding=1), shape=[3, 128, 128])
    assert torchinfo_macs(design) > MAX_TRAIN_MACS
    with pytest.raises(SpecError, match=r"multiply-adds per sample.*training's limit is 200 M"):
        train(design, epochs=1, time_limit=0.2)
    with pytest.raises(SpecError, match="training's limit"):
        training_batch_limit(design)


def test_one_training_step_is_bounded_and_the_batch_that_fits_is_named():
    design = _ten_way(conv(64, 3, padding=1), conv(256, 3, padding=1), shape=[3, 32, 32])
    macs = torchinfo_macs(design)
    assert macs <= MAX_TRAIN_MACS
    # every output kept for backward (elements verified against torch in test_analysis)
    elements = 3 * 32 * 32 + sum(row.activations for row in analyze(design).layers)
    fits = min(MAX_SIGNAL_ELEMENTS // elements, MAX_PASS_MACS // (3 * macs))  # fwd + bwd
    assert training_batch_limit(design) == fits
    with pytest.raises(SpecError, match=f"use batch_size {fits} or less"):
        train(design, epochs=1, batch_size=fits + 1, time_limit=0.2)
    result = train(design, epochs=1, batch_size=fits, time_limit=1e-9)  # built, then stopped
    assert result.stopped_reason == "time limit" and result.settings["batch_size"] == fits


# --- slow initializers ---------------------------------------------------------------------------


def _linear(features: int, out: int, init: dict) -> dict:
    layer = {"type": "Linear", "out_features": out, "init": {"weight": init}}
    return {"input_shape": [features], "layers": [layer]}


@pytest.mark.parametrize(
    ("design", "match"),
    [
        (_linear(5400, 5400, {"scheme": "orthogonal"}), r"orthogonal on its 5400×5400 weight"),
        (
            _linear(200_000, 10, {"scheme": "sparse", "sparsity": 0.1}),
            r"sparse on its 10×200000 weight",
        ),
        (_linear(3_000_000, 10, {"scheme": "trunc_normal"}), r"trunc_normal on its 10×3000000"),
    ],
)
def test_slow_initializers_are_refused_before_building(design, match):
    start = time.perf_counter()
    with pytest.raises(SpecError, match=rf"layer 1 \(fc1\): {match}.*limited to 2 s"):
        build_model(design)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("init", "shape"),
    [
        ({"scheme": "orthogonal"}, (1000, 1000)),
        ({"scheme": "orthogonal"}, (300, 3000)),
        ({"scheme": "sparse", "sparsity": 0.1}, (20, 20_000)),
        ({"scheme": "sparse", "sparsity": 0.1}, (4000, 500)),
        ({"scheme": "trunc_normal"}, (1000, 2000)),
    ],
)
def test_the_cost_estimate_is_the_order_of_torchs_real_time(init, shape):
    """Within a factor of 10 either way of torch's own function on one thread (a busy machine
    is slower; the estimate is for one core of the reference server)."""
    function = getattr(torch.nn.init, f"{init['scheme']}_")
    kwargs = {"sparsity": init["sparsity"]} if "sparsity" in init else {}
    tensor = torch.empty(shape)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        with torch.no_grad():
            function(tensor, **kwargs)
        real = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    assert real / 10 < init_seconds(init, shape) < real * 10


def test_designs_under_the_init_limit_pass():
    """The bound is the estimate summed over the design: just under it passes, and two such
    layers do not."""
    side = math.floor((MAX_INIT_SECONDS / 0.05e-9) ** (1 / 3) * 0.95)
    one = _linear(side, side, {"scheme": "orthogonal"})
    assert init_seconds({"scheme": "orthogonal"}, (side, side)) < MAX_INIT_SECONDS
    check_init_cost(load_spec(one), analyze(one))
    two = {**one, "layers": [*one["layers"], {**one["layers"][0]}]}
    two["layers"][1]["out_features"] = side
    with pytest.raises(SpecError, match=r"layer 1 \(fc1\).*slow initializers: .* s\)"):
        check_init_cost(load_spec(two), analyze(two))
