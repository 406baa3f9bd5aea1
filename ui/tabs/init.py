"""Initialization: one picker per layer type present (a layer's own override wins)."""

from __future__ import annotations

import streamlit as st

from builder.layers import PARAM_TYPES, TENSOR_NDIM
from builder.messages import N_

from .. import actions, i18n
from ..state import W
from ..widgets import init_widgets
from . import Context


def render(ctx: Context) -> None:
    lang = i18n.language()
    present = [t for t in PARAM_TYPES if any(layer.type == t for layer in ctx.spec.layers)]
    if not present:
        st.info(
            i18n.translate(
                "No layer with weights yet: add a Conv2d, BatchNorm or Linear layer.", lang
            )
        )
        return
    st.caption(
        i18n.translate(
            "One initializer per layer type, applied to every layer of that type "
            "(a layer's own override wins). PyTorch default = the layer's `reset_parameters()`.",
            lang,
        )
    )
    plans = ctx.design.get("init", {})
    for layer_type in present:
        for tensor in TENSOR_NDIM[layer_type]:  # PReLU: weight only
            label = {"weight": N_("weight"), "bias": N_("bias")}.get(tensor, tensor)
            if layer_type.startswith("BatchNorm"):
                label = {"weight": N_("weight (gamma)"), "bias": N_("bias (beta)")}[tensor]
            current = plans.get(layer_type, {}).get(tensor, {"scheme": "default"})
            init_widgets(
                f"{W}init:{layer_type}:{tensor}",
                current,
                TENSOR_NDIM[layer_type][tensor],
                actions.on_type_init,
                (layer_type, tensor),
                label=f"**{layer_type}** · {i18n.translate(label, lang)}",
            )
