"""Hypothesis strategies for well-formed random specs.

They pass ``load_spec``; many fail analysis, on purpose.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

small = st.integers(1, 4)
sizes = st.one_of(small, st.lists(small, min_size=2, max_size=2))


@st.composite
def _conv(draw: st.DrawFn) -> dict[str, Any]:
    groups = draw(st.sampled_from([1, 1, 1, 2]))
    layer: dict[str, Any] = {
        "type": "Conv2d",
        "out_channels": groups * draw(st.integers(1, 4)),
        "kernel_size": draw(sizes),
    }
    if groups > 1:
        layer["groups"] = groups
    padding = draw(st.sampled_from([None, 0, 1, 2, [1, 0], "same", "valid"]))
    if padding is not None:
        layer["padding"] = padding
    if padding != "same" and draw(st.booleans()):
        layer["stride"] = draw(sizes)
    if draw(st.booleans()):
        layer["dilation"] = draw(st.sampled_from([1, 2, [1, 2]]))
    if draw(st.booleans()):
        layer["bias"] = False
    if draw(st.integers(0, 5)) == 0:
        layer["padding_mode"] = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    return layer


@st.composite
def _pool(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["MaxPool2d", "AvgPool2d"]))
    kernel = draw(st.integers(1, 4))
    layer: dict[str, Any] = {"type": kind, "kernel_size": kernel}
    if draw(st.booleans()):
        layer["stride"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        layer["padding"] = draw(st.integers(0, kernel // 2))
    if draw(st.booleans()):
        layer["ceil_mode"] = True
    if kind == "MaxPool2d" and draw(st.booleans()):
        layer["dilation"] = draw(st.integers(1, 2))
    if kind == "AvgPool2d" and draw(st.booleans()):
        layer["count_include_pad"] = False
    return layer


@st.composite
def _other(draw: st.DrawFn) -> dict[str, Any]:
    return draw(
        st.sampled_from(
            [
                {"type": "ReLU"},
                {"type": "LeakyReLU", "negative_slope": 0.1},
                {"type": "Tanh"},
                {"type": "GELU"},
                {"type": "SiLU"},
                {"type": "Sigmoid"},
                {"type": "ELU"},
                {"type": "Identity"},
                {"type": "Dropout", "p": 0.3},
                {"type": "Dropout2d"},
                {"type": "BatchNorm2d"},
                {"type": "BatchNorm2d", "affine": False},
                {"type": "BatchNorm1d"},
                {"type": "Flatten"},
                {"type": "Flatten", "start_dim": 2},
                {"type": "Softmax", "dim": 1},
                {"type": "LogSoftmax", "dim": -1},
                {"type": "AdaptiveAvgPool2d", "output_size": 2},
                {"type": "AdaptiveMaxPool2d", "output_size": [1, None]},
            ]
        )
    )


@st.composite
def _linear(draw: st.DrawFn) -> dict[str, Any]:
    layer: dict[str, Any] = {"type": "Linear", "out_features": draw(st.integers(1, 12))}
    if draw(st.integers(0, 4)) == 0:
        layer["bias"] = False
    return layer


@st.composite
def _conv_transpose(draw: st.DrawFn) -> dict[str, Any]:
    stride = draw(st.integers(1, 3))
    layer: dict[str, Any] = {
        "type": "ConvTranspose2d",
        "out_channels": draw(st.integers(1, 4)),
        "kernel_size": draw(sizes),
        "stride": stride,
    }
    if draw(st.booleans()):
        layer["padding"] = draw(st.integers(0, 1))
    if stride > 1 and draw(st.booleans()):
        layer["output_padding"] = 1
    return layer


@st.composite
def _conv1d(draw: st.DrawFn) -> dict[str, Any]:
    layer: dict[str, Any] = {
        "type": "Conv1d",
        "out_channels": draw(st.integers(1, 4)),
        "kernel_size": draw(small),
    }
    padding = draw(st.sampled_from([None, 0, 1, "same", "valid"]))
    if padding is not None:
        layer["padding"] = padding
    if padding != "same" and draw(st.booleans()):
        layer["stride"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        layer["dilation"] = 2
    return layer


@st.composite
def _pool1d(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["MaxPool1d", "AvgPool1d"]))
    kernel = draw(st.integers(1, 4))
    layer: dict[str, Any] = {"type": kind, "kernel_size": kernel}
    if draw(st.booleans()):
        layer["stride"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        layer["padding"] = draw(st.integers(0, kernel // 2))
    if draw(st.booleans()):
        layer["ceil_mode"] = True
    return layer


@st.composite
def _newer(draw: st.DrawFn) -> dict[str, Any]:
    """The shape-keeping and resampling types added with sequences (most fit any input)."""
    return draw(
        st.sampled_from(
            [
                {"type": "GroupNorm", "num_groups": 1},
                {"type": "GroupNorm", "num_groups": 2},
                {"type": "LayerNorm"},
                {"type": "LayerNorm", "elementwise_affine": False},
                {"type": "InstanceNorm2d", "affine": True},
                {"type": "ZeroPad2d", "padding": [1, 0, 2, 1]},
                {"type": "Upsample", "scale_factor": 2.0},
                {"type": "Upsample", "scale_factor": 1.5, "mode": "bilinear"},
                {"type": "Upsample", "size": 5, "mode": "linear"},
                {"type": "PReLU"},
                {"type": "Hardswish"},
                {"type": "Mish"},
                {"type": "AdaptiveAvgPool1d", "output_size": 3},
                {"type": "BatchNorm1d"},
            ]
        )
    )


layers = st.one_of(_conv(), _conv(), _pool(), _other(), _other(), _linear(), _conv_transpose())
sequence_layers = st.one_of(_conv1d(), _conv1d(), _pool1d(), _newer(), _other(), _linear())

INIT_CHOICES = {
    "Conv2d": {
        "weight": [
            {"scheme": "xavier_normal"},
            {"scheme": "kaiming_uniform", "nonlinearity": "relu"},
            {"scheme": "orthogonal", "gain": "relu"},
            {"scheme": "normal", "std": 0.05},
            {"scheme": "dirac"},
        ],
        "bias": [{"scheme": "zeros"}, {"scheme": "constant", "val": 0.1}],
    },
    "Linear": {
        "weight": [
            {"scheme": "normal", "mean": 0, "std": 0.01},
            {"scheme": "eye"},
            {"scheme": "sparse", "sparsity": 0.5},
            {"scheme": "trunc_normal", "std": 0.1, "a": -0.2, "b": 0.2},
            {"scheme": "xavier_uniform", "gain": 2.0},
        ],
        "bias": [{"scheme": "zeros"}, {"scheme": "uniform", "a": -0.1, "b": 0.1}],
    },
    "BatchNorm2d": {
        "weight": [{"scheme": "ones"}, {"scheme": "constant", "val": 1}],
        "bias": [{"scheme": "zeros"}],
    },
    "Conv1d": {
        "weight": [{"scheme": "kaiming_normal", "nonlinearity": "relu"}, {"scheme": "dirac"}],
        "bias": [{"scheme": "zeros"}],
    },
    "ConvTranspose2d": {
        "weight": [{"scheme": "xavier_uniform"}, {"scheme": "orthogonal"}],
        "bias": [{"scheme": "normal", "std": 0.1}],
    },
    "PReLU": {"weight": [{"scheme": "constant", "val": 0.1}, {"scheme": "uniform"}]},
    "GroupNorm": {"weight": [{"scheme": "normal", "mean": 1, "std": 0.1}]},
}


@st.composite
def init_plans(draw: st.DrawFn) -> dict[str, Any]:
    plan: dict[str, Any] = {}
    for layer_type, tensors in INIT_CHOICES.items():
        entry = {}
        for tensor, options in tensors.items():
            choice = draw(st.sampled_from([None, *options]))
            if choice is not None:
                entry[tensor] = choice
        if entry:
            plan[layer_type] = entry
    return plan


@st.composite
def specs(draw: st.DrawFn, max_layers: int = 8) -> dict[str, Any]:
    """A random well-formed spec: image, sequence or flat input, a few random layers (the newer
    types mixed in), a random init plan."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        input_shape = [draw(st.integers(1, 20))]
    elif kind == 1:
        input_shape = [draw(st.integers(1, 4)), draw(st.integers(1, 24))]
    else:
        input_shape = [draw(st.integers(1, 4)), draw(st.integers(1, 12)), draw(st.integers(1, 12))]
    pool = sequence_layers if kind == 1 else st.one_of(layers, layers, layers, _newer())
    stack = draw(st.lists(pool, min_size=0, max_size=max_layers))
    spec: dict[str, Any] = {
        "input_shape": input_shape,
        "seed": draw(st.integers(0, 2**32)),
        "layers": stack,
        "init": draw(init_plans()),
    }
    if draw(st.booleans()):
        spec["name"] = draw(st.sampled_from(["LeNet", "my net", "3rd-try", "class", "vgg_small"]))
    return spec
