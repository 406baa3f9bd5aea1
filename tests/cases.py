"""The shared table of single-layer cases: every layer type and every argument.

Each case is ``(id, input_shape, layer)``. The generic harness in ``test_layers.py`` checks each
one against torch itself; the code-generation tests reuse the same table.
"""

from __future__ import annotations

from typing import Any

IMG = [3, 12, 10]
CASES: list[tuple[str, list[int], dict[str, Any]]] = [
    # Conv2d
    ("conv_basic", [3, 32, 32], {"type": "Conv2d", "out_channels": 6, "kernel_size": 5}),
    ("conv_article_10", [3, 10, 10], {"type": "Conv2d", "out_channels": 6, "kernel_size": 5}),
    ("conv_rect_kernel", IMG, {"type": "Conv2d", "out_channels": 4, "kernel_size": [3, 5]}),
    ("conv_stride", IMG, {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2}),
    (
        "conv_stride_pair",
        IMG,
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "stride": [2, 3]},
    ),
    ("conv_padding", IMG, {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1}),
    (
        "conv_padding_pair",
        IMG,
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": [0, 2]},
    ),
    (
        "conv_same_odd",
        IMG,
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": "same"},
    ),
    (
        "conv_same_even",
        IMG,
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 4, "padding": "same"},
    ),
    (
        "conv_same_dilated",
        IMG,
        {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": "same", "dilation": 2},
    ),
    (
        "conv_valid",
        IMG,
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": "valid"},
    ),
    ("conv_dilation", IMG, {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "dilation": 2}),
    (
        "conv_dilation_pair",
        IMG,
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "dilation": [1, 3]},
    ),
    (
        "conv_groups",
        [4, 8, 8],
        {"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "groups": 2},
    ),
    (
        "conv_depthwise",
        [4, 8, 8],
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "groups": 4},
    ),
    ("conv_no_bias", IMG, {"type": "Conv2d", "out_channels": 4, "kernel_size": 1, "bias": False}),
    (
        "conv_reflect",
        IMG,
        {
            "type": "Conv2d",
            "out_channels": 4,
            "kernel_size": 3,
            "padding": 2,
            "padding_mode": "reflect",
        },
    ),
    (
        "conv_replicate",
        IMG,
        {
            "type": "Conv2d",
            "out_channels": 4,
            "kernel_size": 3,
            "padding": 1,
            "padding_mode": "replicate",
        },
    ),
    (
        "conv_circular",
        IMG,
        {
            "type": "Conv2d",
            "out_channels": 4,
            "kernel_size": 3,
            "padding": 3,
            "padding_mode": "circular",
        },
    ),
    (
        "conv_explicit_in",
        IMG,
        {"type": "Conv2d", "in_channels": 3, "out_channels": 5, "kernel_size": 2},
    ),
    (
        "conv_all_args",
        [4, 20, 17],
        {
            "type": "Conv2d",
            "out_channels": 6,
            "kernel_size": [3, 2],
            "stride": [2, 1],
            "padding": [1, 2],
            "dilation": [2, 1],
            "groups": 2,
            "bias": False,
        },
    ),
    # MaxPool2d
    ("maxpool_basic", [6, 28, 28], {"type": "MaxPool2d", "kernel_size": 2, "stride": 2}),
    ("maxpool_default_stride", IMG, {"type": "MaxPool2d", "kernel_size": 3}),
    ("maxpool_padding", IMG, {"type": "MaxPool2d", "kernel_size": 3, "stride": 1, "padding": 1}),
    ("maxpool_dilation", IMG, {"type": "MaxPool2d", "kernel_size": 2, "stride": 1, "dilation": 2}),
    ("maxpool_ceil", [3, 11, 9], {"type": "MaxPool2d", "kernel_size": 2, "ceil_mode": True}),
    (
        "maxpool_ceil_edge",
        [1, 5, 5],
        {"type": "MaxPool2d", "kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True},
    ),
    (
        "maxpool_rect",
        IMG,
        {"type": "MaxPool2d", "kernel_size": [2, 3], "stride": [1, 2], "padding": [1, 0]},
    ),
    (
        "maxpool_return_indices_false",
        IMG,
        {"type": "MaxPool2d", "kernel_size": 2, "return_indices": False},
    ),
    # AvgPool2d
    ("avgpool_basic", IMG, {"type": "AvgPool2d", "kernel_size": 2}),
    ("avgpool_stride_pad", IMG, {"type": "AvgPool2d", "kernel_size": 3, "stride": 2, "padding": 1}),
    ("avgpool_ceil", [2, 7, 7], {"type": "AvgPool2d", "kernel_size": 2, "ceil_mode": True}),
    (
        "avgpool_ceil_pad",
        [2, 6, 6],
        {"type": "AvgPool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    ),
    (
        "avgpool_no_count_pad",
        IMG,
        {"type": "AvgPool2d", "kernel_size": 3, "padding": 1, "count_include_pad": False},
    ),
    ("avgpool_divisor", IMG, {"type": "AvgPool2d", "kernel_size": 2, "divisor_override": 3}),
    # Adaptive pools
    ("adaptive_avg_int", IMG, {"type": "AdaptiveAvgPool2d", "output_size": 4}),
    ("adaptive_avg_pair_none", IMG, {"type": "AdaptiveAvgPool2d", "output_size": [None, 3]}),
    ("adaptive_avg_upsample", [2, 3, 3], {"type": "AdaptiveAvgPool2d", "output_size": [5, 4]}),
    ("adaptive_max", IMG, {"type": "AdaptiveMaxPool2d", "output_size": [2, 3]}),
    (
        "adaptive_max_one",
        IMG,
        {"type": "AdaptiveMaxPool2d", "output_size": 1, "return_indices": False},
    ),
    # BatchNorm
    ("bn2d_basic", IMG, {"type": "BatchNorm2d"}),
    (
        "bn2d_explicit",
        IMG,
        {"type": "BatchNorm2d", "num_features": 3, "eps": 1e-3, "momentum": 0.3},
    ),
    ("bn2d_momentum_none", IMG, {"type": "BatchNorm2d", "momentum": None}),
    ("bn2d_no_affine", IMG, {"type": "BatchNorm2d", "affine": False}),
    ("bn2d_no_stats", IMG, {"type": "BatchNorm2d", "track_running_stats": False}),
    ("bn2d_no_bias", IMG, {"type": "BatchNorm2d", "bias": False}),
    ("bn1d_flat", [20], {"type": "BatchNorm1d"}),
    (
        "bn1d_no_affine",
        [20],
        {"type": "BatchNorm1d", "affine": False, "track_running_stats": False},
    ),
    (
        "bn1d_explicit",
        [20],
        {"type": "BatchNorm1d", "num_features": 20, "eps": 0.01, "momentum": 0.5},
    ),
    ("bn1d_no_bias", [20], {"type": "BatchNorm1d", "bias": False}),
    # Linear
    ("linear_basic", [400], {"type": "Linear", "out_features": 120}),
    ("linear_explicit", [84], {"type": "Linear", "in_features": 84, "out_features": 10}),
    ("linear_no_bias", [30], {"type": "Linear", "out_features": 7, "bias": False}),
    # Flatten
    ("flatten_basic", [16, 5, 5], {"type": "Flatten"}),
    ("flatten_partial", IMG, {"type": "Flatten", "start_dim": 2}),
    ("flatten_end", IMG, {"type": "Flatten", "start_dim": 1, "end_dim": 2}),
    ("flatten_negative", IMG, {"type": "Flatten", "start_dim": -2, "end_dim": -1}),
    ("flatten_flat", [12], {"type": "Flatten"}),
    # Dropout
    ("dropout_basic", [50], {"type": "Dropout"}),
    ("dropout_p", IMG, {"type": "Dropout", "p": 0.2, "inplace": True}),
    ("dropout2d", IMG, {"type": "Dropout2d", "p": 0.1}),
    ("dropout2d_inplace", IMG, {"type": "Dropout2d", "inplace": True}),
    # activations
    ("relu", IMG, {"type": "ReLU"}),
    ("relu_inplace", IMG, {"type": "ReLU", "inplace": True}),
    ("leakyrelu", IMG, {"type": "LeakyReLU", "negative_slope": 0.2}),
    ("leakyrelu_inplace", [10], {"type": "LeakyReLU", "inplace": True}),
    ("elu", [10], {"type": "ELU", "alpha": 0.5}),
    ("elu_inplace", [10], {"type": "ELU", "inplace": True}),
    ("gelu_tanh", [10], {"type": "GELU", "approximate": "tanh"}),
    ("silu", IMG, {"type": "SiLU"}),
    ("silu_inplace", IMG, {"type": "SiLU", "inplace": True}),
    ("sigmoid", [10], {"type": "Sigmoid"}),
    ("tanh", IMG, {"type": "Tanh"}),
    ("softmax", [10], {"type": "Softmax", "dim": 1}),
    ("softmax_neg", IMG, {"type": "Softmax", "dim": -3}),
    ("logsoftmax", [10], {"type": "LogSoftmax", "dim": -1}),
    ("identity", IMG, {"type": "Identity"}),
]


def case_spec(case: tuple[str, list[int], dict[str, Any]]) -> dict[str, Any]:
    """A one-layer spec for a case."""
    _, shape, layer = case
    return {"input_shape": list(shape), "layers": [dict(layer)]}
