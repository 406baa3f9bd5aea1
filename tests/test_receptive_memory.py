"""Receptive fields against torch's own connectivity; memory estimates against real tensors.

The receptive-field oracle needs no formula: every layer of the real model (built by
``build_model``, in float64) gets positive weights and a positive input, so every activation is
positive and ReLU passes everything. Then each input pixel in turn is raised by 10¹² (all
channels), one pixel per sample of one batch; the units of a layer's output that change are
exactly those whose receptive field holds that pixel (max pooling included: the raised value
becomes its windows' maximum). Each unit's set of such pixels, as a bounding box, must equal the
interval ``start + i·jump ± (rf − 1)/2`` clipped to the image.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
import time
import tracemalloc
from collections.abc import Iterator
from fractions import Fraction

import plotly.graph_objects as go
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from builder import SpecError, analyze, build_model
from builder.layers import MAX_INT
from builder.limits import MAX_INPUT_ELEMENTS, MAX_LAYERS
from builder.memory import (
    CUDA_RESERVE_BYTES,
    GIB,
    MAX_BATCH,
    PARTS,
    fits,
    format_bytes,
    memory_estimate,
    memory_figure,
)
from builder.presets import preset
from builder.receptive import (
    RFRecord,
    largest_adaptive_window,
    receptive_field,
    receptive_field_figure,
)
from builder.spec import MAX_NAME
from tests.designs import vgg16_features

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


# --- the oracle --------------------------------------------------------------------------------


def measured_boxes(design: dict) -> dict[int, torch.Tensor]:
    """For every layer (by index from 1) with a spatial output (``[C, h, w]``, or ``[C, l]`` for
    a sequence): ``[h, w, 4]`` of the (first row, last row, first col, last col) of input pixels
    each unit depends on (``[l, 2]``: first, last position), all -1 for a unit that sees only
    padding."""
    model = build_model(design).double().eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=generator, dtype=torch.float64) + 0.5)
    c, *spatial = design["input_shape"]
    positions = math.prod(spatial)
    base = torch.rand((1, c, *spatial), generator=generator, dtype=torch.float64) + 0.5
    batch = base.repeat(positions + 1, *([1] * (len(spatial) + 1)))
    raised = batch.view(positions + 1, c, positions)
    for k in range(positions):
        raised[1 + k, :, k] += 1e12
    outputs: dict[int, torch.Tensor] = {}
    handles = [
        child.register_forward_hook(
            lambda m, a, out, i=i: outputs.__setitem__(i, out.detach().clone())
        )
        for i, child in enumerate(model.children(), start=1)
    ]
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    boxes = {}
    coords = torch.unravel_index(torch.arange(positions), tuple(spatial))  # one per axis
    for index, out in outputs.items():
        if out.dim() != len(spatial) + 2:
            continue
        changed = ((out[1:] - out[:1]).abs() > 1e-6 * out[:1].abs() + 1e-9).any(dim=1)  # [P, ..]
        units = changed.shape[1:]
        box = torch.empty((*units, 2 * len(spatial)), dtype=torch.int64)
        for unit in itertools.product(*map(range, units)):
            hit = changed[(slice(None), *unit)]
            if not hit.any():  # a unit that sees only padding
                box[unit] = -1
                continue
            box[unit] = torch.stack(
                [f(axis[hit]) for axis in coords for f in (torch.min, torch.max)]
            )
        boxes[index] = box
    return boxes


def check_unit(
    record: RFRecord, unit: tuple[int, ...], box: list[int], sizes: list[int], whole: bool = True
) -> None:
    """Each end of the measured box must be the interval's end where that end lies inside the
    image; where the interval runs into the padding, the box must stay inside it (dilation and
    strides larger than kernels leave holes, so the first pixel actually seen may lie further
    in). ``whole``: the interval's ends are whole pixels; else (after a transposed convolution)
    the pixels seen are the whole ones inside it."""
    if box[0] == -1:  # sees only padding: its interval must reach beyond the image
        ends = [record.interval(i, axis) for axis, i in enumerate(unit)]
        assert any(low < 0 or high > size - 1 for (low, high), size in zip(ends, sizes))
        return
    for axis, (i, size) in enumerate(zip(unit, sizes)):
        low, high = record.interval(i, axis)
        seen_low, seen_high = box[2 * axis], box[2 * axis + 1]
        where = (record, unit, axis)
        if whole:
            assert low == int(low) and high == int(high), where  # centres on (half) pixels
        low, high = math.ceil(low - 1e-9), math.floor(high + 1e-9)  # records hold floats
        if low >= 0:
            assert seen_low == low, where
        else:
            assert seen_low >= 0, where
        if high <= size - 1:
            assert seen_high == high, where
        else:
            assert seen_high <= size - 1, where
        assert low <= seen_low <= seen_high <= high, where


def check_against_oracle(design: dict, whole: bool = True) -> list[RFRecord]:
    records = receptive_field(design)
    boxes = measured_boxes(design)
    sizes = design["input_shape"][1:]
    for index, box in boxes.items():
        record = records[index]
        assert record.size == tuple(box.shape[:-1]), record
        if not record.exact:
            continue
        for unit in itertools.product(*map(range, box.shape[:-1])):
            check_unit(record, unit, box[unit].tolist(), sizes, whole)
    for record in records:
        if record.whole_input:
            assert all(rf >= size for rf, size in zip(record.rf, sizes))
    return records


def stack(input_shape, *layers) -> dict:
    return {"input_shape": list(input_shape), "layers": [dict(layer) for layer in layers]}


def conv(out=2, k=3, **kw):
    return {"type": "Conv2d", "out_channels": out, "kernel_size": k, **kw}


def conv1d(out=2, k=3, **kw):
    return {"type": "Conv1d", "out_channels": out, "kernel_size": k, **kw}


def maxpool(k=2, **kw):
    return {"type": "MaxPool2d", "kernel_size": k, **kw}


def avgpool(k=2, **kw):
    return {"type": "AvgPool2d", "kernel_size": k, **kw}


RELU = {"type": "ReLU"}

ORACLE_CASES = {
    "lenet": preset(),
    "stride_padding": stack([2, 17, 17], conv(3, 3, stride=2, padding=1), RELU, conv(2, 3)),
    "dilation": stack([1, 20, 20], conv(2, 3, dilation=2), conv(2, 3, dilation=3, padding=2)),
    "same_even_kernel": stack(
        [1, 13, 15], conv(2, 4, padding="same"), conv(2, [2, 5], padding="same")
    ),
    "valid": stack([1, 12, 12], conv(2, 3, padding="valid"), maxpool(3, stride=1)),
    "asymmetric": stack(
        [1, 16, 19], conv(2, [3, 5], stride=[1, 2], padding=[0, 2]), maxpool([2, 3], stride=[2, 1])
    ),
    "pool_padding_ceil": stack(
        [1, 15, 15], conv(2, 3), maxpool(3, stride=2, padding=1, ceil_mode=True), conv(2, 2)
    ),
    "pool_dilation": stack([1, 18, 18], maxpool(2, stride=1, dilation=3), conv(2, 3, stride=2)),
    "avgpool": stack(
        [2, 16, 16], avgpool(3, stride=2, padding=1), conv(2, 3), avgpool(2, ceil_mode=True)
    ),
    "batchnorm_dropout": stack(
        [2, 12, 12], conv(4, 3), {"type": "BatchNorm2d"}, RELU, {"type": "Dropout2d"}, maxpool(2)
    ),
    "adaptive_divisible": stack(
        [1, 16, 16],
        conv(2, 3, padding=1),
        {"type": "AdaptiveMaxPool2d", "output_size": 4},
        conv(2, 2),
        {"type": "AdaptiveAvgPool2d", "output_size": 1},
    ),
    "adaptive_none": stack([1, 12, 8], {"type": "AdaptiveAvgPool2d", "output_size": [None, 4]}),
    "replicate_and_small_reflect": stack(
        [1, 11, 11],
        conv(2, 5, padding=2, padding_mode="replicate"),
        conv(2, 5, padding=2, padding_mode="reflect"),
    ),
    "to_linear": stack(
        [1, 10, 10], conv(2, 3), {"type": "Flatten"}, {"type": "Linear", "out_features": 3}
    ),
    "sequence": stack(
        [1, 30],
        conv1d(2, 3, stride=2, padding=1),
        RELU,
        {"type": "MaxPool1d", "kernel_size": 3, "stride": 1, "padding": 1, "dilation": 2},
        conv1d(2, 4, padding="same"),
        {"type": "AvgPool1d", "kernel_size": 2, "ceil_mode": True},
        conv1d(2, 3, padding=1, padding_mode="replicate"),
    ),
    "sequence_adaptive_and_flat": stack(
        [2, 28],
        conv1d(3, 5, dilation=2),
        {"type": "BatchNorm1d"},
        {"type": "AdaptiveAvgPool1d", "output_size": 5},
        {"type": "Flatten"},
        {"type": "Linear", "out_features": 2},
    ),
}


@pytest.mark.parametrize("name", list(ORACLE_CASES))
def test_receptive_field_matches_torch_connectivity(name):
    check_against_oracle(ORACLE_CASES[name])


@st.composite
def random_stacks(draw):
    size = draw(st.integers(6, 20))
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "max", "avg"]))
        k = draw(st.integers(1, 4))
        s = draw(st.integers(1, 3))
        if kind == "conv":
            d = draw(st.integers(1, 2))
            p = draw(st.integers(0, 2))
            layers.append(conv(2, k, stride=s, dilation=d, padding=p))
        else:
            p = draw(st.integers(0, k // 2))
            ceil = draw(st.booleans())
            layers.append(
                (maxpool if kind == "max" else avgpool)(k, stride=s, padding=p, ceil_mode=ceil)
            )
    return stack([1, size, size], *layers)


@given(random_stacks())
def test_receptive_field_matches_torch_on_random_stacks(design):
    from builder import analyze

    if not analyze(design).ok:  # a kernel that does not fit: nothing to compare
        return
    check_against_oracle(design)


def test_lenet_and_alexnet_known_values():
    lenet = {r.name: r for r in receptive_field(preset())}
    assert (lenet["conv1"].rf, lenet["pool1"].rf, lenet["conv2"].rf, lenet["pool2"].rf) == (
        (5, 5),
        (6, 6),
        (14, 14),
        (16, 16),
    )
    assert lenet["pool2"].jump == (4, 4) and lenet["pool2"].size == (5, 5)
    assert lenet["fc3"].whole_input and lenet["fc3"].rf == (32, 32)
    alexnet = {r.name: r for r in receptive_field(preset("AlexNet-like"))}
    assert alexnet["pool3"].rf == (195, 195)  # the published AlexNet value
    assert alexnet["pool3"].jump == (32, 32)


def test_vgg16_published_receptive_fields():
    """Araujo et al., "Computing receptive fields of CNNs" (Distill 2019): VGG-16 reaches 212
    pixels at pool5, with an effective stride of 32; conv5_3 sees 196."""
    layers = vgg16_features()
    records = receptive_field(stack([3, 224, 224], *layers))
    convs = [r for r in records if r.type == "Conv2d"]
    assert convs[-1].rf == (196, 196)
    assert records[-1].rf == (212, 212) and records[-1].jump == (32, 32)
    assert records[-1].size == (7, 7)


def convt(out=2, k=3, **kw):
    return {"type": "ConvTranspose2d", "out_channels": out, "kernel_size": k, **kw}


RESAMPLING_CASES = {
    "transposed": stack([1, 6, 7], convt(2, 3, stride=2, padding=1), RELU, conv(2, 3)),
    "transposed_kernel_is_stride": stack([2, 5, 5], convt(2, 2, stride=2), maxpool(3, stride=2)),
    "transposed_output_padding": stack(
        [1, 5, 6], conv(2, 2), convt(3, [4, 3], stride=3, padding=[1, 2], output_padding=[2, 1])
    ),
    "transposed_twice": stack([1, 4, 4], convt(2, 3, stride=2), convt(2, 5, stride=3, padding=2)),
    "zero_padding_and_cropping": stack(
        [1, 7, 8],
        {"type": "ZeroPad2d", "padding": [2, 0, 1, 3]},
        conv(2, 3, stride=2),
        {"type": "ZeroPad2d", "padding": [-1, 0, 0, -1]},
        conv(2, 2),
    ),
}
"""Transposed convolutions whose intervals are exact (dilation 1, kernel >= stride): their ends
fall between pixels, and the pixels seen are the whole ones inside."""


def upsample(**kw):
    return {"type": "Upsample", **kw}


UPPER_BOUND_CASES = {
    "transposed_kernel_below_stride": stack([1, 5, 5], convt(2, 1, stride=2), conv(2, 2)),
    "transposed_dilated": stack([1, 5, 5], convt(2, 3, stride=2, dilation=2)),
    "nearest": stack([1, 4, 5], upsample(scale_factor=2.0), conv(2, 3)),
    "nearest_fractional": stack([1, 5, 7], upsample(scale_factor=[1.7, 2.4])),
    "nearest_down": stack([1, 9, 8], upsample(scale_factor=0.45)),
    "nearest_size": stack([1, 5, 6], conv(2, 2), upsample(size=[11, 7])),
    "nearest_exact": stack([1, 5, 6], upsample(scale_factor=2.6, mode="nearest-exact")),
    "bilinear": stack([1, 5, 6], upsample(scale_factor=2.5, mode="bilinear")),
    "bilinear_aligned": stack(
        [1, 5, 6], upsample(size=[9, 13], mode="bilinear", align_corners=True), conv(2, 3)
    ),
    "bicubic": stack([1, 6, 5], upsample(scale_factor=1.6, mode="bicubic")),
    "bicubic_recomputed": stack(
        [1, 6, 5], upsample(scale_factor=1.6, mode="bicubic", recompute_scale_factor=True)
    ),
    "bicubic_aligned_down": stack([1, 9, 8], upsample(size=4, mode="bicubic", align_corners=True)),
    "sequence_linear": stack(
        [1, 11], conv1d(2, 3), upsample(scale_factor=2.7, mode="linear"), conv1d(2, 2)
    ),
    "sequence_nearest_to_one": stack([1, 6], upsample(size=1, mode="nearest-exact")),
}


@pytest.mark.parametrize("name", list(RESAMPLING_CASES))
def test_transposed_convolutions_match_torch_connectivity(name):
    records = check_against_oracle(RESAMPLING_CASES[name], whole=False)
    assert all(r.exact for r in records)


@pytest.mark.parametrize("name", list(UPPER_BOUND_CASES))
def test_resampling_that_skips_pixels_is_flagged_and_an_upper_bound(name):
    """Every pixel a unit depends on lies inside its interval (and the interval is flagged)."""
    design = UPPER_BOUND_CASES[name]
    records = receptive_field(design)
    assert not records[-1].exact
    for index, box in measured_boxes(design).items():
        record = records[index]
        for unit in itertools.product(*map(range, box.shape[:-1])):
            seen = box[unit].tolist()
            if seen[0] == -1:
                continue
            for axis, i in enumerate(unit):
                low, high = record.interval(i, axis)
                low, high = low - 1e-9, high + 1e-9  # records hold floats
                assert low <= seen[2 * axis] <= seen[2 * axis + 1] <= high, (record, unit)


def test_every_table_case_has_a_receptive_field_and_a_memory_estimate():
    """Every layer type (the shared table): a record per layer whose size is the analysed
    output's, a figure, and a memory estimate whose parameter and buffer bytes are the built
    layer's own."""
    from tests.cases import CASES, case_spec

    for case in CASES:
        design = case_spec(case)
        records = receptive_field(design)
        out = analyze(design).layers[0].output_shape
        assert records[-1].output_shape == out
        if records[-1].size is not None:
            assert records[-1].size == tuple(out[1:]) and len(records[-1].rf) == len(out) - 1
        receptive_field_figure(records)
        estimate = memory_estimate(design, 2)
        model = build_model(design)
        assert estimate.parameters == 4 * sum(p.numel() for p in model.parameters()), case[0]
        buffers = sum(b.numel() * (8 if b.dtype == torch.int64 else 4) for b in model.buffers())
        assert estimate.buffers == buffers, case[0]


def test_sequence_receptive_field_by_hand():
    """One axis: Conv1d(k=3, s=2, p=1) sees 3 positions 2 apart, starting at 0 (the padded
    window [-1, 1] is centred on position 0); MaxPool1d(3, 1, 1, dilation 2) adds 2·2·2 = 8 and,
    reaching 4 with padding 1, moves the first centre by (4/2 − 1) jumps of 2."""
    records = receptive_field(ORACLE_CASES["sequence"])
    conv1, _, pool1 = records[1:4]
    assert records[0].size == (30,) and records[0].rf == (1,)
    assert (conv1.size, conv1.rf, conv1.jump, conv1.start) == ((15,), (3,), (2,), (0,))
    assert (pool1.rf, pool1.jump, pool1.start) == ((11,), (2,), (2,))
    assert all(r.exact and len(r.size) == 1 for r in records)
    assert conv1.interval(3) == (5, 7)
    flat = receptive_field(ORACLE_CASES["sequence_adaptive_and_flat"])
    assert flat[-1].whole_input and flat[-1].rf == (28,)
    assert "sequence length 30" in str(receptive_field_figure(records).to_dict())


def test_adaptive_pool_that_does_not_divide_is_flagged_and_an_upper_bound():
    design = stack([1, 10, 10], conv(2, 3), {"type": "AdaptiveAvgPool2d", "output_size": 3})
    records = receptive_field(design)
    assert not records[-1].exact and records[1].exact
    assert records[-1].jump == pytest.approx((8 / 3, 8 / 3))
    boxes = measured_boxes(design)[2]
    widest = int((boxes[..., 1] - boxes[..., 0]).max()) + 1
    assert records[-1].rf[0] >= widest
    assert records[-1].rf[0] == 3 + (4 - 1)  # conv's 3, plus the largest window (4 of 8) − 1


def torch_bin(in_size: int, out_size: int, i: int) -> tuple[int, int]:
    """Window ``i`` of an adaptive pool, ``[start, end)``, as torch computes it
    (``start_index`` / ``end_index`` in aten/src/ATen/native/AdaptivePooling.h)."""
    return i * in_size // out_size, -(-(i + 1) * in_size // out_size)


def test_largest_adaptive_window_equals_the_longest_listed_bin():
    for in_size in range(1, 65):
        for out_size in range(1, 65):
            bins = [torch_bin(in_size, out_size, i) for i in range(out_size)]
            longest = max(end - start for start, end in bins)
            assert largest_adaptive_window(in_size, out_size) == longest, (in_size, out_size)


def test_non_dividing_adaptive_pools_against_torch_connectivity():
    """The largest window and the first window's centre are exact; every other centre is within
    a pixel of ``start + i·jump`` (the module's promise)."""
    for in_h in range(1, 10):
        for out_h in range(1, 12):
            design = stack([1, in_h, 3], {"type": "AdaptiveMaxPool2d", "output_size": [out_h, 2]})
            record = receptive_field(design)[-1]
            box = measured_boxes(design)[1]
            assert not record.exact  # 3 -> 2 does not divide
            assert record.jump == pytest.approx((in_h / out_h, 3 / 2))
            for axis, units in ((0, box[:, 0]), (1, box[0, :])):
                first, last = units[:, 2 * axis], units[:, 2 * axis + 1]
                assert record.rf[axis] == int((last - first).max()) + 1, (in_h, out_h, axis)
                assert record.start[axis] == (first[0] + last[0]) / 2
                centres = (first + last) / 2
                predicted = [sum(record.interval(i, axis)) / 2 for i in range(len(units))]
                assert (centres - torch.tensor(predicted)).abs().max() < 1, (in_h, out_h)


def test_adaptive_pool_to_2_31_minus_1_is_answered_in_closed_form():
    """Hardening II, item 4: the largest window came from listing all 2³¹ − 1 windows
    (MemoryError after about 45 s). The oracle lists torch's windows where one can be longest:
    with fewer input than output pixels a window is 1 or 2 long, 2 only where it straddles a
    pixel border ``k``, i.e. at ``i`` near ``k·O/I``."""
    design = stack([1, 3, 3], {"type": "AdaptiveAvgPool2d", "output_size": [MAX_INT, 1]})
    with bounded():
        record = receptive_field(design)[-1]
    near_borders = {0, MAX_INT - 1} | {k * MAX_INT // 3 + d for k in (1, 2) for d in (-1, 0, 1)}
    bins = [torch_bin(3, MAX_INT, i) for i in sorted(near_borders)]
    assert record.rf == (max(end - start for start, end in bins), 3)
    first_start, first_end = torch_bin(3, MAX_INT, 0)
    assert record.start == ((first_start + first_end - 1) / 2, 1)
    assert record.jump[0] == pytest.approx(3 / MAX_INT, rel=1e-12) and record.jump[1] == 3
    assert record.size == (MAX_INT, 1) and not record.exact


@pytest.mark.parametrize(
    ("layer", "exact"),
    [
        (conv(2, 3, padding=1, padding_mode="circular"), False),
        (conv(2, 3, padding=0, padding_mode="circular"), True),
        (conv(2, 3, padding=2, padding_mode="reflect"), False),
        (conv(2, 5, padding=2, padding_mode="reflect"), True),
        (conv(2, 2, padding="same", padding_mode="reflect"), False),
    ],
)
def test_wrapping_and_mirroring_padding_is_flagged(layer, exact):
    design = stack([1, 9, 9], layer)
    assert receptive_field(design)[-1].exact is exact
    if exact:
        check_against_oracle(design)


def test_flat_input_and_failed_analysis():
    records = receptive_field(preset("MLP"))
    assert len(records) == 7 and all(r.rf is None for r in records)
    assert records[-1].output_shape == (10,)
    broken = stack([1, 8, 8], conv(2, 3), conv(2, 9), conv(2, 1))
    records = receptive_field(broken)
    assert records[1].rf == (3, 3)
    assert records[2].output_shape is None and records[2].rf is None and records[3].rf is None
    with pytest.raises(ValueError, match="no spatial"):
        records[3].interval(0)


def test_receptive_field_figure():
    fig = receptive_field_figure(receptive_field(preset()))
    assert isinstance(fig, go.Figure)
    bars, line = fig.data
    assert list(bars.x) == ["input", "conv1", "pool1", "conv2", "pool2", "flatten1"]
    assert list(bars.y) == [32, 28, 14, 10, 5, None]
    assert list(line.y) == [1, 5, 6, 14, 16, 32]
    fig.to_json()
    empty = receptive_field_figure(receptive_field(preset("MLP")))
    assert "no spatial input" in empty.layout.annotations[0].text


# --- memory ------------------------------------------------------------------------------------


def adam_state_bytes(optimizer: torch.optim.Optimizer) -> tuple[int, int]:
    """(moment bytes, step-counter bytes) held in a real optimizer's state."""
    moments = steps = 0
    for state in optimizer.state.values():
        for key, value in state.items():
            if torch.is_tensor(value):
                size = value.numel() * value.element_size()
                if key == "step":
                    steps += size
                else:
                    moments += size
    return moments, steps


def bn_variants(**kw) -> dict:
    return stack(
        [3, 8, 8],
        conv(4, 3, bias=False),
        {"type": "BatchNorm2d", **kw},
        {"type": "Flatten"},
        {"type": "BatchNorm1d", "affine": False},
        {"type": "Linear", "out_features": 10, "bias": False},
    )


MEMORY_DESIGNS = {
    "lenet": preset(),
    "vgg_block_bn": preset("VGG block with BatchNorm"),
    "mlp": preset("MLP"),
    "bn_no_affine": bn_variants(affine=False),
    "bn_no_stats": bn_variants(track_running_stats=False),
    "bn_no_bias": bn_variants(bias=False),
    "sequence": ORACLE_CASES["sequence_adaptive_and_flat"],
    "newer_types": stack(
        [3, 8, 8],
        conv(4, 3, padding=1),
        {"type": "GroupNorm", "num_groups": 2},
        {"type": "PReLU", "num_parameters": 4},
        convt(4, 2, stride=2),
        {"type": "InstanceNorm2d", "affine": True, "track_running_stats": True},
        {"type": "Upsample", "scale_factor": 0.5, "mode": "bilinear"},
        {"type": "ZeroPad2d", "padding": [1, 0, 0, 1]},
        {"type": "LayerNorm"},
        {"type": "Flatten"},
        {"type": "Linear", "out_features": 10},
    ),
}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("name", list(MEMORY_DESIGNS))
def test_parameter_gradient_buffer_bytes_match_the_real_model(name, dtype):
    design = MEMORY_DESIGNS[name]
    estimate = memory_estimate(design, 8, dtype)
    model = build_model(design).to(TORCH_DTYPES[dtype])
    assert estimate.parameters == sum(p.numel() * p.element_size() for p in model.parameters())
    assert estimate.buffers == sum(b.numel() * b.element_size() for b in model.buffers())
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    grads = sum(p.grad.numel() * p.grad.element_size() for p in model.parameters())
    assert estimate.gradients == grads
    assert estimate.bytes_per_value == torch.empty((), dtype=TORCH_DTYPES[dtype]).element_size()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize(
    ("optimizer", "make"),
    [
        ("adam", lambda params: torch.optim.Adam(params)),
        ("sgd_momentum", lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9)),
        ("sgd", lambda params: torch.optim.SGD(params, lr=0.1)),
    ],
)
def test_optimizer_state_matches_torch_after_one_step(optimizer, make, dtype):
    design = preset("VGG block with BatchNorm")
    design["layers"][0]["trainable"] = False  # frozen: no gradient, no state
    model = build_model(design).to(TORCH_DTYPES[dtype])
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.ones_like(p)
    opt = make(params)
    opt.step()
    moments, steps = adam_state_bytes(opt)
    estimate = memory_estimate(design, 4, dtype, optimizer)
    assert estimate.optimizer_state == moments + steps
    assert estimate.gradients == sum(p.numel() * p.element_size() for p in params)
    assert estimate.trainable_count == sum(p.numel() for p in params) < estimate.param_count


@pytest.mark.parametrize("name", list(MEMORY_DESIGNS))
def test_activation_bytes_are_every_layer_output_of_a_real_forward_pass(name):
    design = MEMORY_DESIGNS[name]
    model = build_model(design)
    sizes: list[int] = []
    handles = [
        child.register_forward_hook(
            lambda m, a, out: sizes.append(out.numel() * out.element_size())
        )
        for child in model.children()
    ]
    batch = torch.zeros((5, *design["input_shape"]))
    with torch.no_grad():
        model(batch)
    for handle in handles:
        handle.remove()
    estimate = memory_estimate(design, 5)
    assert estimate.activations == sum(sizes)
    assert estimate.activation_elements * 4 == sum(sizes)
    assert estimate.input == batch.numel() * batch.element_size()
    assert sum(layer.activations for layer in estimate.layers) == estimate.activations
    assert estimate.total == sum(estimate.parts().values())


def test_lenet_numbers_by_hand():
    e = memory_estimate(preset(), 64)
    assert e.parameters == e.gradients == 62_006 * 4
    assert e.optimizer_state == 2 * 62_006 * 4 + 10 * 4  # two moments, ten step counters
    per_sample = 6 * 28 * 28 * 2 + 6 * 14 * 14 + 16 * 10 * 10 * 2 + 16 * 5 * 5 + 400
    per_sample += 120 * 2 + 84 * 2 + 10
    assert e.activations == 64 * per_sample * 4
    assert e.input == 64 * 3 * 32 * 32 * 4 and e.buffers == 0
    # what autograd keeps: ReLU outputs (read again by the pools, the convs and the Linears),
    # the pools' outputs (the next conv's / Linear's input, through the Flatten's view) and
    # their int64 indices; conv1's input is the input batch, a part of its own
    floats = 6 * 28 * 28 + 6 * 14 * 14 + 16 * 10 * 10 + 16 * 5 * 5 + 120 + 84
    assert e.saved == 64 * (floats * 4 + (6 * 14 * 14 + 16 * 5 * 5) * 8)
    assert e.saved_parts["pooling_indices"] == 64 * (6 * 14 * 14 + 16 * 5 * 5) * 8
    half = memory_estimate(preset(), 64, "float16", "sgd")
    assert (half.parameters, half.gradients, half.optimizer_state) == (62_006 * 2,) * 2 + (0,)
    assert half.saved == 64 * (floats * 2 + (6 * 14 * 14 + 16 * 5 * 5) * 8)  # indices stay int64


def test_a_vgg16_sized_design_is_estimated_without_building_it():
    layers = vgg16_features()
    layers += [{"type": "Flatten"}, {"type": "Linear", "out_features": 4096}, RELU]
    layers += [
        {"type": "Linear", "out_features": 4096},
        RELU,
        {"type": "Linear", "out_features": 1000},
    ]
    estimate = memory_estimate(stack([3, 224, 224], *layers), 64)
    assert estimate.param_count == 138_357_544
    assert estimate.parameters == 138_357_544 * 4
    assert estimate.fits_on(24) and not memory_estimate(stack([3, 224, 224], *layers), 256).fits_on(
        24
    )


def test_fits_counts_the_reserved_memory_and_the_cuda_context():
    assert fits(8 * GIB, 8) and not fits(8 * GIB + 1, 8) and fits(0, 1)
    e = memory_estimate(preset("AlexNet-like"), 64)
    assert e.total == e.reserved + CUDA_RESERVE_BYTES == sum(e.parts().values())
    assert e.reserved >= e.peak >= e.parameters + e.optimizer_state + e.gradients
    assert [gb for gb in (1, 2, 8) if e.fits_on(gb)] == [
        gb for gb in (1, 2, 8) if e.total <= gb * GIB
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"batch_size": 4, "dtype": "float64"}, "dtype"),
        ({"batch_size": 4, "optimizer": "lion"}, "optimizer"),
    ],
)
def test_memory_bad_arguments(kwargs, field):
    with pytest.raises(SpecError, match=field):
        memory_estimate(preset(), **kwargs)


def test_memory_of_a_failing_design_is_its_error():
    with pytest.raises(SpecError, match=r"layer 2 \(conv2\)"):
        memory_estimate(stack([1, 8, 8], conv(2, 3), conv(2, 9)), 4)


def test_format_bytes_and_memory_figure():
    assert (format_bytes(12), format_bytes(248_024), format_bytes(1.5e9)) == (
        "12 B",
        "248 kB",
        "1.5 GB",
    )
    fig = memory_figure(memory_estimate(preset(), 64))
    assert len(fig.data) == len(PARTS) and fig.layout.barmode == "stack"
    assert "8 GB ✓" in fig.layout.title.text
    fig.to_json()


# --- extreme but valid designs -----------------------------------------------------------------


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


@contextlib.contextmanager
def bounded(
    seconds: float = 2.0, peak_bytes: int = 32 * 2**20, cap_bytes: int = 2**30
) -> Iterator[dict[str, float]]:
    """The body must take under ``seconds`` of CPU time (not wall time: the machine is shared) and
    allocate under ``peak_bytes`` (tracemalloc's
    peak); the measures land in the yielded dict. On Linux the process may meanwhile grow by at
    most ``cap_bytes`` of address space and is interrupted after ``10 × seconds``, so code that
    would list 2³¹ values fails fast (MemoryError / TimeoutError) instead of eating the machine."""
    measures: dict[str, float] = {}
    guard = contextlib.ExitStack()
    if sys.platform == "linux":
        import resource
        import signal

        def alarm(signum: int, frame: object) -> None:
            raise TimeoutError(f"still running after {10 * seconds:g} s")

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _address_space() + cap_bytes
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        previous = signal.signal(signal.SIGALRM, alarm)
        guard.callback(signal.signal, signal.SIGALRM, previous)
        guard.callback(signal.setitimer, signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_REAL, 10 * seconds)
        guard.callback(resource.setrlimit, resource.RLIMIT_AS, (soft, hard))
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    with guard:
        tracemalloc.start()
        guard.callback(tracemalloc.stop)
        start = time.process_time()
        yield measures
        measures["seconds"] = time.process_time() - start
        measures["peak_bytes"] = tracemalloc.get_traced_memory()[1]
    assert measures["seconds"] < seconds, measures
    assert measures["peak_bytes"] < peak_bytes, measures


def _named(layers: list[dict]) -> list[dict]:
    """The layers with names of the longest allowed length, all different."""
    return [
        {**layer, "name": f"layer{i:03d}".ljust(MAX_NAME, "x")} for i, layer in enumerate(layers)
    ]


M = MAX_INT
EXTREME_DESIGNS = {
    "adaptive to 2**31-1 rows": stack(
        [1, 3, 3], {"type": "AdaptiveAvgPool2d", "output_size": [M, 1]}
    ),
    "adaptive to 2**31-1 both ways, then down to 3x2": stack(
        [1, 3, 3],
        {"type": "AdaptiveMaxPool2d", "output_size": [M, M]},
        {"type": "AdaptiveAvgPool2d", "output_size": [3, 2]},
        conv(2, 2),
    ),
    "adaptive to 2**31-2 x 2**31-3": stack(
        [1, 3, 3], {"type": "AdaptiveAvgPool2d", "output_size": [M - 1, M - 2]}
    ),
    "200 adaptive pools up and down": stack(
        [1, 3, 3],
        *[
            {"type": "AdaptiveAvgPool2d", "output_size": [M, M] if i % 2 == 0 else [3, 7]}
            for i in range(MAX_LAYERS)
        ],
    ),
    "conv: channels, stride, dilation, padding at max": stack(
        [1, 3, 3], conv(M, 1, stride=M, dilation=M, padding=M)
    ),
    "conv: kernel and padding at max": stack([1, 3, 3], conv(1, M, padding=M)),
    "conv: dilation at max": stack([1, 3, 3], conv(1, 2, dilation=M, padding=M)),
    "200 convs of stride 2**31-1": stack(
        [1, 3, 3], *[conv(1, 1, stride=M, padding=M) for _ in range(MAX_LAYERS)]
    ),
    "200 dilated convs of stride 2**30": stack(
        [1, 3, 3], *[conv(1, 2, stride=2**30, dilation=M, padding=M) for _ in range(MAX_LAYERS)]
    ),
    "200 max pools of kernel and stride 2**31-1": stack(
        [1, 3, 3], *[maxpool(M, stride=M, padding=M // 2) for _ in range(MAX_LAYERS)]
    ),
    "avg pool: kernel, stride, padding at max, ceil_mode": stack(
        [1, 3, 3], avgpool(M, stride=M, padding=M // 2, ceil_mode=True)
    ),
    "2**31-1 channels of 2**32+1 squared, BatchNorm": stack(
        [1, 3, 3], conv(M, 1, padding=M), {"type": "BatchNorm2d"}
    ),
    "Linear of 2**31-1 twice": stack(
        [1, 3, 3],
        {"type": "Flatten"},
        {"type": "Linear", "out_features": M},
        {"type": "Linear", "out_features": M},
    ),
    "largest flat input to Linear 2**31-1": stack(
        [MAX_INPUT_ELEMENTS], {"type": "Linear", "out_features": M}
    ),
    "200 layers, 64-character names": stack(
        [3, 32, 32], *_named([conv(8, 1) if i % 2 else RELU for i in range(MAX_LAYERS)])
    ),
    "200 shape-keeping layers, 64-character names": stack(
        [3, 32, 32], *_named([RELU] * MAX_LAYERS)
    ),
}


def windowed_chain_oracle(design: dict) -> tuple[int, int, Fraction]:
    """``(rf, jump, start)`` along H of a chain of square conv / pool layers in closed form:
    ``jump = Π s``, ``rf = 1 + Σ dₖ(kₖ − 1)·Πⱼ₍ₖ sⱼ``, ``start = Σ (dₖ(kₖ − 1)/2 − pₖ)·Πⱼ₍ₖ sⱼ``."""
    rf, start, before = 1, Fraction(0), []
    for layer in design["layers"]:
        k, d, p = layer["kernel_size"], layer.get("dilation", 1), layer.get("padding", 0)
        jump = math.prod(before)
        rf += d * (k - 1) * jump
        start += (Fraction(d * (k - 1), 2) - p) * jump
        pool = layer["type"] != "Conv2d"  # pooling strides default to the kernel
        before.append(layer.get("stride") or (k if pool else 1))
    return rf, math.prod(before), start


@pytest.mark.parametrize("name", list(EXTREME_DESIGNS))
def test_receptive_field_of_extreme_designs_is_quick_small_and_exact(name):
    design = EXTREME_DESIGNS[name]
    assert analyze(design).ok  # valid designs, all of them
    with bounded():
        records = receptive_field(design)
        figure = receptive_field_figure(records).to_plotly_json()
    assert len(records) == len(design["layers"]) + 1
    assert figure["data"] or "no spatial input" in figure["layout"]["annotations"][0]["text"]
    if all(layer["type"] in ("Conv2d", "MaxPool2d", "AvgPool2d") for layer in design["layers"]):
        rf, jump, start = windowed_chain_oracle(design)
        last = records[-1]
        assert (last.rf[0], last.jump[0]) == (rf, jump)
        assert abs(Fraction(last.start[0]) - start) <= abs(start) / 2**52  # a float's precision


@pytest.mark.parametrize("name", list(EXTREME_DESIGNS))
def test_memory_of_extreme_designs_is_quick_and_small(name):
    design = EXTREME_DESIGNS[name]
    with bounded():
        estimate = memory_estimate(design, MAX_BATCH, "float16", "adam")
        figure = memory_figure(estimate).to_plotly_json()
        text = format_bytes(estimate.total)
    assert estimate.total == sum(estimate.parts().values()) and figure["data"]
    assert estimate.param_count == analyze(design).total_params
    assert text.endswith("B")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"batch_size": 10**5000}, "batch_size"),
        ({"batch_size": 4, "dtype": ["float32"]}, "dtype"),
        ({"batch_size": 4, "optimizer": {"adam": 1}}, "optimizer"),
    ],
)
def test_memory_unusable_arguments_are_spec_errors(kwargs, field):
    with bounded(), pytest.raises(SpecError, match=field):
        memory_estimate(preset(), **kwargs)
