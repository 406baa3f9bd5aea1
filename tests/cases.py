"""The shared table of single-layer cases: every layer type and every argument.

Each case is ``(id, input_shape, layer)``. The generic harness in ``test_layers.py`` checks each
one against torch itself; the code-generation tests reuse the same table.
"""

from __future__ import annotations

from typing import Any

IMG = [3, 12, 10]
SEQ = [3, 20]
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
    # Conv1d
    ("conv1d_basic", SEQ, {"type": "Conv1d", "out_channels": 4, "kernel_size": 5}),
    ("conv1d_list_kernel", SEQ, {"type": "Conv1d", "out_channels": 4, "kernel_size": [3]}),
    ("conv1d_stride", SEQ, {"type": "Conv1d", "out_channels": 4, "kernel_size": 3, "stride": 2}),
    ("conv1d_padding", SEQ, {"type": "Conv1d", "out_channels": 4, "kernel_size": 3, "padding": 2}),
    (
        "conv1d_same_even",
        SEQ,
        {"type": "Conv1d", "out_channels": 4, "kernel_size": 4, "padding": "same", "dilation": 3},
    ),
    (
        "conv1d_valid",
        SEQ,
        {"type": "Conv1d", "out_channels": 2, "kernel_size": 2, "padding": "valid"},
    ),
    (
        "conv1d_groups",
        [4, 16],
        {"type": "Conv1d", "out_channels": 8, "kernel_size": 3, "groups": 4, "bias": False},
    ),
    (
        "conv1d_reflect",
        SEQ,
        {
            "type": "Conv1d",
            "out_channels": 3,
            "kernel_size": 3,
            "padding": 4,
            "padding_mode": "reflect",
        },
    ),
    (
        "conv1d_circular",
        SEQ,
        {
            "type": "Conv1d",
            "in_channels": 3,
            "out_channels": 3,
            "kernel_size": 3,
            "padding": 1,
            "padding_mode": "circular",
        },
    ),
    # ConvTranspose2d
    ("convT_basic", IMG, {"type": "ConvTranspose2d", "out_channels": 4, "kernel_size": 3}),
    (
        "convT_double",
        [3, 5, 7],
        {"type": "ConvTranspose2d", "out_channels": 2, "kernel_size": 2, "stride": 2},
    ),
    (
        "convT_same_size",
        IMG,
        {"type": "ConvTranspose2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
    ),
    (
        "convT_all_args",
        [4, 5, 6],
        {
            "type": "ConvTranspose2d",
            "in_channels": 4,
            "out_channels": 6,
            "kernel_size": [3, 2],
            "stride": [2, 3],
            "padding": [1, 0],
            "output_padding": [1, 2],
            "groups": 2,
            "bias": False,
            "dilation": [1, 2],
            "padding_mode": "zeros",
        },
    ),
    # 1-d pooling
    ("maxpool1d_basic", SEQ, {"type": "MaxPool1d", "kernel_size": 2}),
    (
        "maxpool1d_all",
        SEQ,
        {
            "type": "MaxPool1d",
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "dilation": 2,
            "ceil_mode": True,
            "return_indices": False,
        },
    ),
    ("avgpool1d_basic", SEQ, {"type": "AvgPool1d", "kernel_size": 3}),
    (
        "avgpool1d_all",
        [2, 11],
        {
            "type": "AvgPool1d",
            "kernel_size": 3,
            "stride": [2],
            "padding": 1,
            "ceil_mode": True,
            "count_include_pad": False,
        },
    ),
    ("adaptive_avg1d", SEQ, {"type": "AdaptiveAvgPool1d", "output_size": 6}),
    ("adaptive_avg1d_up", [2, 3], {"type": "AdaptiveAvgPool1d", "output_size": [7]}),
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
    ("bn1d_sequence", SEQ, {"type": "BatchNorm1d", "momentum": None}),
    ("bn1d_sequence_no_stats", SEQ, {"type": "BatchNorm1d", "track_running_stats": False}),
    # ZeroPad2d
    ("zeropad_int", IMG, {"type": "ZeroPad2d", "padding": 2}),
    ("zeropad_sides", IMG, {"type": "ZeroPad2d", "padding": [1, 2, 0, 3]}),
    ("zeropad_crop", IMG, {"type": "ZeroPad2d", "padding": [-1, 0, 2, -2]}),
    # Upsample
    ("upsample_nearest", IMG, {"type": "Upsample", "scale_factor": 2.0}),
    ("upsample_fractional", IMG, {"type": "Upsample", "scale_factor": 2.3}),
    ("upsample_size", IMG, {"type": "Upsample", "size": [7, 13]}),
    ("upsample_sequence_size", SEQ, {"type": "Upsample", "size": 33}),
    ("upsample_linear", SEQ, {"type": "Upsample", "scale_factor": 2.5, "mode": "linear"}),
    (
        "upsample_linear_aligned",
        SEQ,
        {"type": "Upsample", "scale_factor": [1.7], "mode": "linear", "align_corners": True},
    ),
    (
        "upsample_bilinear",
        IMG,
        {
            "type": "Upsample",
            "scale_factor": [1.5, 2.0],
            "mode": "bilinear",
            "align_corners": False,
        },
    ),
    (
        "upsample_bicubic_recomputed",
        IMG,
        {
            "type": "Upsample",
            "scale_factor": 1.3,
            "mode": "bicubic",
            "recompute_scale_factor": True,
        },
    ),
    (
        "upsample_exact_down",
        IMG,
        {"type": "Upsample", "scale_factor": 0.5, "mode": "nearest-exact"},
    ),
    # GroupNorm
    ("groupnorm_basic", IMG, {"type": "GroupNorm", "num_groups": 3}),
    ("groupnorm_four", [8, 5, 5], {"type": "GroupNorm", "num_groups": 4, "eps": 1e-3}),
    ("groupnorm_no_affine", [8, 5, 5], {"type": "GroupNorm", "num_groups": 2, "affine": False}),
    ("groupnorm_no_bias", [8, 5, 5], {"type": "GroupNorm", "num_groups": 8, "bias": False}),
    ("groupnorm_flat", [12], {"type": "GroupNorm", "num_groups": 3}),
    (
        "groupnorm_sequence",
        SEQ,
        {"type": "GroupNorm", "num_groups": 1, "num_channels": 3},
    ),
    # LayerNorm
    ("layernorm_sample", IMG, {"type": "LayerNorm"}),
    ("layernorm_last", IMG, {"type": "LayerNorm", "normalized_shape": 10, "eps": 1e-6}),
    ("layernorm_last_two", IMG, {"type": "LayerNorm", "normalized_shape": [12, 10]}),
    ("layernorm_flat", [20], {"type": "LayerNorm", "bias": False}),
    ("layernorm_sequence", SEQ, {"type": "LayerNorm", "normalized_shape": [20]}),
    ("layernorm_no_affine", SEQ, {"type": "LayerNorm", "elementwise_affine": False}),
    # InstanceNorm2d
    ("instancenorm_basic", IMG, {"type": "InstanceNorm2d"}),
    (
        "instancenorm_affine_tracked",
        IMG,
        {"type": "InstanceNorm2d", "affine": True, "track_running_stats": True, "momentum": None},
    ),
    (
        "instancenorm_all",
        [4, 3, 2],
        {
            "type": "InstanceNorm2d",
            "num_features": 4,
            "eps": 0.01,
            "momentum": 0.3,
            "affine": True,
            "bias": False,
        },
    ),
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
    ("relu_sequence", SEQ, {"type": "ReLU"}),
    ("relu_inplace", IMG, {"type": "ReLU", "inplace": True}),
    ("leakyrelu", IMG, {"type": "LeakyReLU", "negative_slope": 0.2}),
    ("leakyrelu_inplace", [10], {"type": "LeakyReLU", "inplace": True}),
    ("elu", [10], {"type": "ELU", "alpha": 0.5}),
    ("elu_inplace", [10], {"type": "ELU", "inplace": True}),
    ("gelu_tanh", [10], {"type": "GELU", "approximate": "tanh"}),
    ("silu", IMG, {"type": "SiLU"}),
    ("silu_inplace", IMG, {"type": "SiLU", "inplace": True}),
    ("hardswish", IMG, {"type": "Hardswish"}),
    ("hardswish_inplace", SEQ, {"type": "Hardswish", "inplace": True}),
    ("mish", [10], {"type": "Mish"}),
    ("mish_inplace", IMG, {"type": "Mish", "inplace": True}),
    ("prelu_one", IMG, {"type": "PReLU"}),
    ("prelu_channels", IMG, {"type": "PReLU", "num_parameters": 3}),
    ("prelu_sequence", SEQ, {"type": "PReLU", "num_parameters": 3}),
    ("prelu_flat", [10], {"type": "PReLU", "num_parameters": 10}),
    ("softplus", SEQ, {"type": "Softplus"}),
    ("softplus_args", IMG, {"type": "Softplus", "beta": 2.5, "threshold": 3.0}),
    ("sigmoid", [10], {"type": "Sigmoid"}),
    ("tanh", IMG, {"type": "Tanh"}),
    ("softmax", [10], {"type": "Softmax", "dim": 1}),
    ("softmax_neg", IMG, {"type": "Softmax", "dim": -3}),
    ("logsoftmax", [10], {"type": "LogSoftmax", "dim": -1}),
    ("identity", IMG, {"type": "Identity"}),
]


# Single layers the analysis refuses: ``(id, input_shape, layer, fragments of the message,
# torch_fails)``. ``torch_fails`` True: plain torch raises on it too (checked); False: the rule is
# NetBuilder's stricter one (torch may run it, e.g. reading a batch of sequences as one image).
FAILURES: list[tuple[str, list[int], dict[str, Any], list[str], bool]] = [
    (
        "conv2d_on_sequence",
        SEQ,
        {"type": "Conv2d", "out_channels": 4, "kernel_size": 3},
        ["Conv2d needs a [C, H, W] input, got a sequence [C, L] = [3, 20]", "use Conv1d"],
        False,
    ),
    (
        "conv1d_on_image",
        IMG,
        {"type": "Conv1d", "out_channels": 4, "kernel_size": 3},
        ["Conv1d needs a [C, L] input, got an image [C, H, W] = [3, 12, 10]", "use Conv2d"],
        True,
    ),
    (
        "conv1d_on_flat",
        [12],
        {"type": "Conv1d", "out_channels": 4, "kernel_size": 3},
        ["Conv1d needs a [C, L] input, got a flat vector of 12 features", "move it before"],
        False,
    ),
    (
        "conv1d_kernel_too_long",
        [3, 4],
        {"type": "Conv1d", "out_channels": 4, "kernel_size": 7},
        ["the kernel reaches 7 positions but the input is only 4 long", "set padding to 2"],
        True,
    ),
    (
        "conv1d_groups",
        SEQ,
        {"type": "Conv1d", "out_channels": 4, "kernel_size": 3, "groups": 2},
        ["groups=2 does not divide the 3 input channels"],
        True,
    ),
    (
        "conv1d_in_channels",
        SEQ,
        {"type": "Conv1d", "in_channels": 5, "out_channels": 4, "kernel_size": 3},
        ["in_channels is 5 but the input has 3 channels", "set in_channels to 3"],
        True,
    ),
    (
        "conv1d_reflect_too_wide",
        [2, 3],
        {
            "type": "Conv1d",
            "out_channels": 2,
            "kernel_size": 1,
            "padding": 3,
            "padding_mode": "reflect",
        },
        ["padding_mode='reflect' needs padding smaller than the input length 3, got 3"],
        True,
    ),
    (
        "convT_on_sequence",
        SEQ,
        {"type": "ConvTranspose2d", "out_channels": 2, "kernel_size": 2, "stride": 2},
        ["ConvTranspose2d needs a [C, H, W] input, got a sequence [C, L] = [3, 20]"],
        False,
    ),
    (
        "convT_crops_everything",
        [2, 1, 3],
        {"type": "ConvTranspose2d", "out_channels": 2, "kernel_size": 1, "padding": 1},
        ["padding 1 crops away the whole output height", "set padding to at most 0"],
        True,
    ),
    (
        "convT_crops_to_nothing",
        [2, 1, 1],
        {"type": "ConvTranspose2d", "out_channels": 1, "kernel_size": 2, "padding": 1},
        ["padding 1 crops away the whole output height: (1 − 1)·1 − 2·1 + 1·(2−1) + 0 + 1 = 0"],
        False,
    ),
    (
        "convT_groups",
        [3, 4, 4],
        {"type": "ConvTranspose2d", "out_channels": 4, "kernel_size": 2, "groups": 2},
        ["groups=2 does not divide the 3 input channels"],
        True,
    ),
    (
        "convT_in_channels",
        [3, 4, 4],
        {"type": "ConvTranspose2d", "in_channels": 4, "out_channels": 4, "kernel_size": 2},
        ["in_channels is 4 but the input has 3 channels", "set in_channels to 3"],
        True,
    ),
    (
        "maxpool1d_on_image",
        IMG,
        {"type": "MaxPool1d", "kernel_size": 2, "stride": 1},
        ["MaxPool1d needs a [C, L] input", "use MaxPool2d for an image"],
        True,
    ),
    (
        "maxpool2d_on_sequence",
        SEQ,
        {"type": "MaxPool2d", "kernel_size": [2, 2]},
        ["MaxPool2d needs a [C, H, W] input, got a sequence", "use MaxPool1d"],
        False,
    ),
    (
        "avgpool1d_window",
        [2, 3],
        {"type": "AvgPool1d", "kernel_size": 5},
        ["the 5-wide pooling window does not fit the input length 3"],
        True,
    ),
    (
        "avgpool2d_divisor_on_sequence",
        SEQ,
        {"type": "AvgPool2d", "kernel_size": 2, "divisor_override": 2},
        ["AvgPool2d needs a [C, H, W] input", "use AvgPool1d"],
        False,
    ),
    (
        "adaptive1d_on_image",
        IMG,
        {"type": "AdaptiveAvgPool1d", "output_size": 2},
        ["AdaptiveAvgPool1d needs a [C, L] input", "use AdaptiveAvgPool2d"],
        True,
    ),
    (
        "bn1d_on_image",
        IMG,
        {"type": "BatchNorm1d"},
        ["BatchNorm1d needs a [F] or [C, L] input", "use BatchNorm2d for an image"],
        True,
    ),
    (
        "bn2d_on_sequence",
        SEQ,
        {"type": "BatchNorm2d"},
        ["BatchNorm2d needs a [C, H, W] input", "use BatchNorm1d for a sequence"],
        True,
    ),
    (
        "zeropad_on_sequence",
        SEQ,
        {"type": "ZeroPad2d", "padding": 1},
        ["ZeroPad2d needs a [C, H, W] input, got a sequence [C, L] = [3, 20]"],
        False,
    ),
    (
        "zeropad_crops_to_nothing",
        [3, 4, 4],
        {"type": "ZeroPad2d", "padding": [0, 0, -2, -2]},
        ["the negative padding crops the whole input height: 4 + (-2) + (-2) = 0"],
        False,
    ),
    (
        "zeropad_crops_past_nothing",
        [3, 4, 4],
        {"type": "ZeroPad2d", "padding": [-3, -2, 0, 0]},
        ["the negative padding crops the whole input width", "crop less"],
        True,
    ),
    (
        "upsample_on_flat",
        [12],
        {"type": "Upsample", "scale_factor": 2.0},
        ["Upsample needs a [C, L] or [C, H, W] input, got a flat vector of 12 features"],
        True,
    ),
    (
        "upsample_bilinear_sequence",
        SEQ,
        {"type": "Upsample", "scale_factor": 2.0, "mode": "bilinear"},
        ["mode='bilinear' needs a [C, H, W] input, got [C, L]", "use mode='linear'"],
        True,
    ),
    (
        "upsample_linear_image",
        IMG,
        {"type": "Upsample", "size": 4, "mode": "linear"},
        ["mode='linear' needs a [C, L] input, got [C, H, W]", "use mode='bilinear'"],
        True,
    ),
    (
        "upsample_size_axes",
        SEQ,
        {"type": "Upsample", "size": [4, 5]},
        ["size has 2 entries but the input has 1 spatial axis"],
        True,
    ),
    (
        "upsample_to_nothing",
        IMG,
        {"type": "Upsample", "scale_factor": 0.05, "mode": "bicubic"},
        ["scale_factor 0.05 leaves nothing of the input height: floor(12·0.05) = 0"],
        True,
    ),
    (
        "prelu_count",
        IMG,
        {"type": "PReLU", "num_parameters": 4},
        [
            "num_parameters=4 must be 1 (one slope) or the input's 3 channels",
            "set num_parameters to 3",
        ],
        True,
    ),
    (
        "groupnorm_groups",
        [6, 4, 4],
        {"type": "GroupNorm", "num_groups": 4},
        ["num_groups=4 does not divide the 6 input channels", "set num_groups to 2"],
        True,
    ),
    (
        "groupnorm_channels",
        SEQ,
        {"type": "GroupNorm", "num_groups": 1, "num_channels": 6},
        ["num_channels is 6 but the input has 3 channels", "set num_channels to 3"],
        True,
    ),
    (
        "layernorm_not_the_end",
        IMG,
        {"type": "LayerNorm", "normalized_shape": [12]},
        [
            "normalized_shape [12] is not the end of the input's shape [3, 12, 10]",
            "leave normalized_shape out",
        ],
        True,
    ),
    (
        "instancenorm_on_flat",
        [12],
        {"type": "InstanceNorm2d"},
        ["InstanceNorm2d needs a [C, H, W] input, got a flat vector of 12 features"],
        True,
    ),
    (
        "instancenorm_on_sequence",
        SEQ,
        {"type": "InstanceNorm2d"},
        ["InstanceNorm2d needs a [C, H, W] input, got a sequence"],
        False,
    ),
    (
        "instancenorm_one_pixel",
        [3, 1, 1],
        {"type": "InstanceNorm2d"},
        ["InstanceNorm2d needs more than one value per channel, got a 1×1 input"],
        True,
    ),
    (
        "instancenorm_one_pixel_tracked",
        [3, 1, 1],
        {"type": "InstanceNorm2d", "track_running_stats": True},
        ["more than one value per channel"],
        False,
    ),
    (
        "instancenorm_features",
        IMG,
        {"type": "InstanceNorm2d", "num_features": 4, "affine": True},
        ["num_features is 4 but the input has 3 channels"],
        True,
    ),
    (
        "bn1d_sequence_channels",
        SEQ,
        {"type": "BatchNorm1d", "num_features": 20},
        ["num_features is 20 but the input has 3 channels"],
        True,
    ),
]

IN_IS_WHOLE_SHAPE = frozenset({"LayerNorm"})
"""Types whose inferred argument is the whole sample shape (LayerNorm's ``normalized_shape``);
for the rest it is the first dimension (channels, features), as torch's docs define them."""


def plain_in(layer_type: str, shape: list[int] | tuple[int, ...]) -> Any:
    """The inferred argument of a plain torch layer for a per-sample input ``shape``."""
    return tuple(shape) if layer_type in IN_IS_WHOLE_SHAPE else shape[0]


def case_spec(case: tuple[Any, ...]) -> dict[str, Any]:
    """A one-layer spec for a case (of ``CASES`` or ``FAILURES``)."""
    shape, layer = case[1], case[2]
    return {"input_shape": list(shape), "layers": [dict(layer)]}
