"""Pure output-size formulas for one spatial dimension, each quoting torch's ``Shape:`` rule.

Every function returns ``(size, formula)`` where ``formula`` is the arithmetic with the numbers
filled in, ready to show a class. ``size`` may be < 1: the caller decides that is an error.
"""

from __future__ import annotations

import math


def _fmt_sub(value: int) -> str:
    return f"({value})" if value < 0 else str(value)


def conv_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int
) -> tuple[int, str]:
    """Output size of ``nn.Conv2d`` (and ``nn.Conv1d``) along one dimension.

    torch's Shape rule: ``H_out = floor((H_in + 2*padding - dilation*(kernel_size - 1) - 1)
    / stride + 1)``.
    """
    numerator = size + 2 * padding - dilation * (kernel - 1) - 1
    out = math.floor(numerator / stride) + 1 if numerator >= 0 else numerator // stride + 1
    formula = f"floor(({size} + 2·{padding} − {dilation}·({kernel}−1) − 1) / {stride}) + 1 = {out}"
    return out, formula


def conv_same_output_size(size: int) -> tuple[int, str]:
    """Output size of ``nn.Conv2d(padding="same")``: the input size (stride is 1)."""
    return size, f"padding='same' keeps the size: {size}"


def pool_output_size(
    size: int,
    kernel: int,
    stride: int,
    padding: int,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> tuple[int, str]:
    """Output size of ``nn.MaxPool2d`` / ``nn.AvgPool2d`` (and their 1-d kin) along one dimension.

    torch's Shape rule: ``H_out = floor_or_ceil((H_in + 2*padding - dilation*(kernel_size - 1)
    - 1) / stride + 1)``; with ``ceil_mode`` the last window must start inside the input or its
    left padding, so one is taken off when ``(H_out - 1)*stride >= H_in + padding``.
    (``AvgPool2d`` has no dilation: it is 1.)
    """
    numerator = size + 2 * padding - dilation * (kernel - 1) - 1
    rounding = "ceil" if ceil_mode else "floor"
    # torch's pooling_output_shape: floor division after adding stride - 1 in ceil mode
    out = (numerator + (stride - 1 if ceil_mode else 0)) // stride + 1
    dil = f"{dilation}·({kernel}−1)" if dilation != 1 else f"({kernel}−1)"
    formula = f"{rounding}(({size} + 2·{padding} − {dil} − 1) / {stride}) + 1"
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
        formula += " − 1 (last window would start in the right padding)"
    return out, f"{formula} = {out}"


def adaptive_output_size(size: int, target: int | None) -> tuple[int, str]:
    """Output size of ``nn.AdaptiveAvgPool2d`` / ``nn.AdaptiveMaxPool2d`` along one dimension.

    torch's Shape rule: ``H_out = output_size[0]``, or ``H_in`` where that entry is ``None``.
    """
    if target is None:
        return size, f"None keeps the size: {size}"
    return target, f"output_size = {target}"


def conv_transpose_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, output_padding: int
) -> tuple[int, str]:
    """Output size of ``nn.ConvTranspose2d`` along one dimension.

    torch's Shape rule: ``H_out = (H_in − 1)·stride − 2·padding + dilation·(kernel_size − 1)
    + output_padding + 1``.
    """
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    formula = (
        f"({size} − 1)·{stride} − 2·{padding} + {dilation}·({kernel}−1) + {output_padding} + 1"
        f" = {out}"
    )
    return out, formula


def pad_output_size(size: int, before: int, after: int) -> tuple[int, str]:
    """Output size of ``nn.ZeroPad2d`` along one dimension.

    torch's Shape rule: ``H_out = H_in + padding_top + padding_bottom`` (``W_out = W_in +
    padding_left + padding_right``); negative padding crops.
    """
    out = size + before + after
    return out, f"{size} + {_fmt_sub(before)} + {_fmt_sub(after)} = {out}"


def upsample_output_size(size: int, target: int | None, scale: float | None) -> tuple[int, str]:
    """Output size of ``nn.Upsample`` along one dimension.

    torch's Shape rule: ``H_out = floor(H_in × scale_factor)``, or ``size`` where it is given
    (the product in double precision, as torch computes it).
    """
    if target is not None:
        return target, f"size = {target}"
    out = math.floor(size * scale)
    return out, f"floor({size}·{scale:g}) = {out}"
