"""``activation_stats`` and ``compare_plans``: the vanishing-signal demonstration against theory,
every statistic against torch run by hand, and the model left exactly as it was found."""

from __future__ import annotations

import itertools
import math
import statistics
import threading
import time

import pytest
import torch
from torch import nn

from builder.model import build_model
from builder.presets import preset
from builder.signal import activation_stats, compare_plans, with_plan

# --- the classroom demo: ten Conv-ReLU blocks, N(0, 0.01²) vs Kaiming -----------------------------

DEPTH = 10
CHANNELS, SIZE = 16, 32
FAN_IN = CHANNELS * 3 * 3  # 144
SIGMA = {"normal": 0.01, "kaiming": math.sqrt(2 / FAN_IN)}  # kaiming_normal, relu: gain √2
PLANS = {
    "normal": {
        "Conv2d": {"weight": {"scheme": "normal", "std": 0.01}, "bias": {"scheme": "zeros"}}
    },
    "kaiming": {
        "Conv2d": {
            "weight": {"scheme": "kaiming_normal", "nonlinearity": "relu"},
            "bias": {"scheme": "zeros"},
        }
    },
}
# zero padding: along one axis of 32 positions a 3-tap window keeps 94 of its 96 taps in bounds
BORDER = (94 / 96) ** 2


def deep_spec(seed: int = 0) -> dict:
    layers = []
    for _ in range(DEPTH):
        layers.append({"type": "Conv2d", "out_channels": CHANNELS, "kernel_size": 3, "padding": 1})
        layers.append({"type": "ReLU"})
    return {"input_shape": [CHANNELS, SIZE, SIZE], "seed": seed, "layers": layers}


def block_gain(plan: str) -> float:
    """Theory: a Conv-ReLU block multiplies the second moment E[x²] by fan_in·σ²·border / 2
    (the conv sums fan_in products of variance σ²·E[x²]; the ReLU keeps half of a symmetric
    signal's square). Returned in decades of std: ``0.5·log10(gain)``."""
    return 0.5 * math.log10(FAN_IN * SIGMA[plan] ** 2 * BORDER / 2)


@pytest.fixture(scope="module")
def demo():
    return compare_plans(deep_spec(0), PLANS["normal"], PLANS["kaiming"])


def test_signal_vanishes_by_orders_of_magnitude(demo):
    """With zero biases the network is positively homogeneous in each layer's weights, and both
    plans draw the same standard normals (same seed, same order): Kaiming's weights are N(0, 0.01²)'s
    times σ_K / σ_N exactly. So after k conv layers the std ratio is exactly (σ_K / σ_N)^k."""
    normal, kaiming = demo
    assert [s.name for s in normal] == [s.name for s in kaiming]
    assert normal[-1].name == f"relu{DEPTH}"
    per_layer = SIGMA["kaiming"] / SIGMA["normal"]  # 11.8
    convs = 0
    for a, b in zip(normal, kaiming):
        convs += a.type == "Conv2d"
        assert b.std / a.std == pytest.approx(per_layer**convs, rel=1e-4), a.name
        # the same signs, except a few values within float32 rounding of 0 (of 1M)
        assert a.zero_fraction == pytest.approx(b.zero_fraction, abs=1e-5)
    orders = math.log10(kaiming[-1].std / normal[-1].std)
    assert orders == pytest.approx(DEPTH * math.log10(per_layer), rel=1e-5)  # 10.7
    assert orders > 10


def test_each_block_scales_the_signal_as_theory_says():
    """The per-block change of log10(second moment) / 2 averages to ``block_gain``: a t-test over
    the blocks of four independently seeded networks (36 blocks), at 5 standard errors of the
    mean estimated from the blocks themselves."""
    for plan in ("normal", "kaiming"):
        gains = []
        for seed in range(4):
            spec = dict(deep_spec(seed), init=PLANS[plan])
            stats = activation_stats(build_model(spec), batch_size=32, seed=seed)
            relus = [s for s in stats if s.type == "ReLU"]
            moments = [s.std**2 + s.mean**2 for s in relus]
            gains += [0.5 * math.log10(b / a) for a, b in itertools.pairwise(moments)]
        mean, sem = statistics.fmean(gains), statistics.stdev(gains) / math.sqrt(len(gains))
        assert abs(mean - block_gain(plan)) <= 5 * sem, (plan, mean, block_gain(plan), sem)
        other = "kaiming" if plan == "normal" else "normal"
        assert abs(mean - block_gain(other)) > 5 * sem  # the test can tell the plans apart


def test_first_relu_keeps_half(demo):
    """Given the weights, a conv of white Gaussian input is a zero-mean Gaussian at each position,
    so exactly half of it is expected to be positive. The 64·32·32 outputs share inputs only
    within a 3×3 window: at least 64·(32/3)² ≈ 7,300 independent ones, standard error ≤ 0.006."""
    for stats in demo:
        relu1 = next(s for s in stats if s.name == "relu1")
        assert relu1.zero_fraction == pytest.approx(0.5, abs=5 * 0.006)
        assert all(s.zero_fraction == 0 for s in stats if s.type == "Conv2d")


# --- every number against torch run by hand ------------------------------------------------------


@pytest.fixture(scope="module")
def lenet():
    return build_model(preset())


def _by_hand(model: nn.Module, shape, batch_size: int, seed: int) -> list[tuple]:
    x = torch.randn((batch_size, *shape), generator=torch.Generator().manual_seed(seed))
    rows = [("input", "Input", x)]
    with torch.no_grad():
        for name, child in model.named_children():
            x = child(x)
            rows.append((name, type(child).__name__, x))
    return [
        (
            name,
            kind,
            tuple(t.shape[1:]),
            t.mean().item(),
            t.std().item(),
            (t == 0).sum().item() / t.numel(),
        )
        for name, kind, t in rows
    ]


@pytest.mark.parametrize("batch_size", [2, 64])
def test_stats_match_a_forward_pass_by_hand(lenet, batch_size):
    lenet.eval()
    stats = activation_stats(lenet, batch_size=batch_size, seed=3)
    expected = _by_hand(lenet, (3, 32, 32), batch_size, 3)
    assert len(stats) == len(expected) == len(list(lenet.children())) + 1
    for index, (stat, (name, kind, shape, mean, std, zeros)) in enumerate(zip(stats, expected)):
        assert (stat.index, stat.name, stat.type, stat.shape) == (index, name, kind, shape)
        assert stat.mean == pytest.approx(mean, rel=1e-5, abs=1e-7)
        assert stat.std == pytest.approx(std, rel=1e-5)
        assert stat.zero_fraction == pytest.approx(zeros, abs=1e-12)
    assert stats[0].shape == (3, 32, 32) and stats[-1].shape == (10,)


def test_input_is_standard_normal(lenet):
    stats = activation_stats(lenet, batch_size=64)
    n = 64 * 3 * 32 * 32
    assert stats[0].mean == pytest.approx(0, abs=5 / math.sqrt(n))
    assert stats[0].std == pytest.approx(1, abs=5 * math.sqrt(2 / (4 * n)))  # κ = 3


def test_seed_makes_it_reproducible(lenet):
    assert activation_stats(lenet, seed=1) == activation_stats(lenet, seed=1)
    assert activation_stats(lenet, seed=1) != activation_stats(lenet, seed=2)


# --- eval vs train ---------------------------------------------------------------------------------


def test_dropout_in_train_mode():
    """MLP preset: Dropout(p=0.2) zeroes a fraction p of the surviving values and rescales by
    1/(1 − p), so in train mode the zeros rise to z + (1 − z)·p and the mean stays put."""
    model = build_model(preset("MLP"))
    evals = {s.name: s for s in activation_stats(model, mode="eval")}
    trains = {s.name: s for s in activation_stats(model, mode="train")}
    for field in ("shape", "mean", "std", "zero_fraction"):  # eval: Dropout is the identity
        assert getattr(evals["drop1"], field) == getattr(evals["relu1"], field)
    relu, drop = trains["relu1"], trains["drop1"]
    z, p, n = relu.zero_fraction, 0.2, 64 * 256
    # each surviving value is dropped independently: Binomial(n·(1 − z), p) new zeros
    assert drop.zero_fraction == pytest.approx(
        z + (1 - z) * p, abs=5 * math.sqrt(p * (1 - p) * (1 - z) / n)
    )
    # each value x becomes x·m / (1 − p): unbiased, with variance x²·p / (1 − p)
    se = math.sqrt((relu.std**2 + relu.mean**2) * p / (1 - p) / n)
    assert drop.mean == pytest.approx(relu.mean, abs=5 * se)
    assert drop.std > relu.std


def test_batchnorm_eval_uses_running_stats_train_uses_the_batch():
    model = build_model(preset("VGG block with BatchNorm"))
    evals = {s.name: s for s in activation_stats(model, batch_size=16, mode="eval")}
    trains = {s.name: s for s in activation_stats(model, batch_size=16, mode="train")}
    eps = 1e-5
    # fresh running statistics are mean 0, var 1: eval-mode BN divides by sqrt(1 + eps)
    assert evals["bn1"].std == pytest.approx(evals["conv1"].std / math.sqrt(1 + eps), rel=1e-5)
    # train mode: every channel normalized to mean 0, (biased) variance 1
    assert trains["bn1"].mean == pytest.approx(0, abs=1e-5)
    assert trains["bn1"].std == pytest.approx(1, abs=1e-3)
    assert trains["conv1"] == evals["conv1"]  # the same input, and conv has no mode


def test_train_mode_dropout_draws_the_seeded_global_stream():
    """Dropout's masks are those of ``torch.manual_seed(seed)``, as plain torch code draws them."""
    model = build_model(preset("MLP"))
    stats = activation_stats(model, batch_size=8, seed=5, mode="train")
    model.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        expected = _by_hand(model, (784,), 8, 5)
    model.eval()
    for stat, (name, _, _, mean, std, zeros) in zip(stats, expected):
        assert stat.name == name
        assert (stat.mean, stat.std) == (
            pytest.approx(mean, rel=1e-5),
            pytest.approx(std, rel=1e-5),
        )
        assert stat.zero_fraction == zeros


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_long_signal_pass_does_not_hold_up_other_sessions_builds(mode):
    """One session's signal pass (stalled inside its forward) while another builds LeNet: the
    pass draws nothing from the global generator (no Dropout), so it must not hold its lock."""
    model = build_model(preset("VGG block with BatchNorm"))
    inside, release = threading.Event(), threading.Event()

    def stall(module: nn.Module, args: object) -> None:
        inside.set()
        release.wait(10)

    handle = model.conv2.register_forward_pre_hook(stall)
    worker = threading.Thread(
        target=activation_stats, args=(model,), kwargs={"batch_size": 4, "mode": mode}
    )
    worker.start()
    try:
        assert inside.wait(10)
        start = time.perf_counter()
        build_model(preset())
        took = time.perf_counter() - start
    finally:
        release.set()
        worker.join()
        handle.remove()
    assert took < 0.5


# --- the model and the random state are left as they were ---------------------------------------


def test_model_and_rng_are_left_untouched():
    model = build_model(preset("VGG block with BatchNorm"))
    model.train()
    model.bn2.eval()  # a mixed state must come back exactly
    flags = {name: m.training for name, m in model.named_modules()}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    for mode in ("train", "eval"):
        activation_stats(model, batch_size=8, mode=mode)
        assert {name: m.training for name, m in model.named_modules()} == flags
        after = model.state_dict()
        assert all(torch.equal(state[k], after[k]) for k in state), mode  # running stats too
        assert torch.equal(torch.get_rng_state(), rng)
        assert all(not m._forward_hooks for m in model.modules())
        assert torch.is_grad_enabled()
        assert all(p.grad is None for p in model.parameters())


def test_plain_module_needs_an_input_shape():
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 1))
    with pytest.raises(ValueError, match="input_shape"):
        activation_stats(model)
    stats = activation_stats(model, input_shape=[5], batch_size=16)
    assert [(s.name, s.type) for s in stats] == [
        ("input", "Input"),
        ("0", "Linear"),
        ("1", "Tanh"),
        ("2", "Linear"),
    ]
    assert stats[-1].shape == (1,)
    nested = nn.Sequential(nn.Sequential(nn.Linear(5, 4), nn.ReLU()), nn.Linear(4, 2))
    names = [s.name for s in activation_stats(nested, input_shape=[5], batch_size=4)]
    assert names == ["input", "0.0", "0.1", "1"]
    single = activation_stats(nn.Linear(5, 3), input_shape=[5], batch_size=4)
    assert [(s.name, s.type, s.shape) for s in single] == [
        ("input", "Input", (5,)),
        ("output", "Linear", (3,)),
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "test"}, "mode"),
        ({"batch_size": 1}, "batch_size"),
        ({"batch_size": 2.0}, "batch_size"),
    ],
)
def test_bad_arguments(lenet, kwargs, match):
    with pytest.raises(ValueError, match=match):
        activation_stats(lenet, **kwargs)


# --- plans ------------------------------------------------------------------------------------------


def test_with_plan_replaces_the_init():
    design = preset()
    design["layers"][0]["init"] = {"weight": {"scheme": "orthogonal"}}
    plan = PLANS["kaiming"]
    dropped = with_plan(design, plan)
    kept = with_plan(design, plan, keep_layer_init=True)
    assert dropped["init"] == plan and kept["init"] == plan
    assert "init" not in dropped["layers"][0]
    assert kept["layers"][0]["init"] == {"weight": {"scheme": "orthogonal"}}
    assert design["init"] != plan  # the caller's design is not modified
    assert build_model(dropped).init_plan["conv1.weight"] == plan["Conv2d"]["weight"]
    assert build_model(kept).init_plan["conv1.weight"] == {"scheme": "orthogonal"}


def test_compare_plans_uses_the_same_input():
    a, b = compare_plans(preset(), PLANS["normal"], PLANS["kaiming"], batch_size=8, mode="train")
    assert a[0] == b[0]
    assert [s.name for s in a] == [s.name for s in b]
    assert a[-1].std != b[-1].std


# --- sequences ----------------------------------------------------------------------------------


def test_sequence_layers_are_costed_as_their_image_counterparts():
    """A Conv1d / MaxPool1d over ``[C, L]`` does the work of a Conv2d / MaxPool2d with a 1×k
    window over ``[C, 1, L]``: the weighted cost (few output channels, zero padding, pooling
    windows) reads the registry, so both count the same."""
    from builder.signal import heavy_macs

    def design(one_d: bool, padding: int) -> dict:
        k = 5 if one_d else [1, 5]
        pad = padding if one_d else [0, padding]
        conv, pool = ("Conv1d", "MaxPool1d") if one_d else ("Conv2d", "MaxPool2d")
        return {
            "input_shape": [3, 200] if one_d else [3, 1, 200],
            "layers": [
                {"type": conv, "out_channels": 4, "kernel_size": k, "padding": pad},
                {"type": "ReLU"},
                {"type": pool, "kernel_size": [3] if one_d else [1, 3], "stride": 1},
            ],
        }

    for padding in (0, 2, 30):  # 30: a slow zero padding
        assert heavy_macs(design(True, padding)) == heavy_macs(design(False, padding))
    assert heavy_macs(design(True, 30)) > 50 * heavy_macs(design(True, 0))  # the slow kernel


def test_signal_through_a_sequence_design():
    spec = {
        "input_shape": [2, 40],
        "layers": [
            {"type": "Conv1d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "BatchNorm1d"},
            {"type": "ReLU"},
            {"type": "AdaptiveAvgPool1d", "output_size": 4},
        ],
    }
    model = build_model(spec)
    stats = activation_stats(model, batch_size=16, seed=3)
    assert [s.shape for s in stats] == [(2, 40), (8, 40), (8, 40), (8, 40), (8, 4)]
    batch = torch.randn((16, 2, 40), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        out = model.eval()(batch)
    assert stats[-1].mean == pytest.approx(out.mean().item(), rel=1e-5, abs=1e-7)
    assert stats[-1].std == pytest.approx(out.std().item(), rel=1e-5)


# --- sequences on the training tab's digits (builder.training) ----------------------------------


def _standardized_rows(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits, standardized with the training split's statistics, each as the
    length-64 sequence of its pixels row by row; and the training indices."""
    from sklearn.datasets import load_digits

    images = torch.tensor(load_digits().images, dtype=torch.float64) / 16
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    train_idx = order[round(len(images) * 0.25) :]
    std, mean = torch.std_mean(images[train_idx])
    return ((images - mean) / std).reshape(len(images), 64), train_idx


@pytest.mark.parametrize("length", [64, 100, 20, 1])
def test_a_sequence_input_reads_each_digit_row_by_row_resized_linearly(length):
    """[C, L]: the 64 pixels row by row, resampled to L at torch's linear sample points
    ``(i + 0.5)·64/L − 0.5`` (clamped to the ends; numpy's interp as the oracle), in every
    channel."""
    import numpy as np

    from builder.training import digits_dataset

    x_train, y_train, _, _ = digits_dataset([3, length])
    rows, train_idx = _standardized_rows()
    assert x_train.shape == (1348, 3, length) and y_train.shape == (1348,)
    points = np.clip((np.arange(length) + 0.5) * 64 / length - 0.5, 0, 63)
    expected = np.stack([np.interp(points, np.arange(64), row) for row in rows[train_idx].numpy()])
    for channel in range(3):
        np.testing.assert_allclose(x_train[:, channel].numpy(), expected, atol=1e-5)


def test_a_one_d_cnn_learns_the_digits_as_sequences():
    from builder.training import train

    spec = {
        "input_shape": [1, 64],
        "seed": 0,
        "layers": [
            {"type": "Conv1d", "out_channels": 16, "kernel_size": 5, "padding": 2},
            {"type": "ReLU"},
            {"type": "MaxPool1d", "kernel_size": 2},
            {"type": "Conv1d", "out_channels": 16, "kernel_size": 8, "stride": 8},
            {"type": "ReLU"},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 10},
        ],
    }
    result = train(spec, epochs=3, seed=0)
    assert result.stopped_reason == "done"
    assert result.initial.test_accuracy < 0.3 < 0.85 < result.test_accuracy
    assert result.settings["input_shape"] == (1, 64)
