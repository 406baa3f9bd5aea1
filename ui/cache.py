"""Every cached call of the app, keyed on canonical spec JSON, each bounded in bytes.

``st.cache_data`` hashes its arguments by content and hands each caller a copy, so sessions never
share an object. Each cache has a TTL and an entry count sized from its largest possible entry
(measured by ``tests/test_hostile.py`` for a 200-layer design), which bounds what the caches can
pin to ``CACHE_BUDGET_BYTES`` in all. The weights file is not cached at all: it is made only
when its download is clicked and is as large as the model.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

import builder
from builder import presets

from . import i18n

TTL = "1h"
CACHE_BUDGET_BYTES = 256 * 1024 * 1024
# entries per cache; the largest entry of each (a 200-layer design) times this stays in budget
ENTRIES = {
    "histograms": 32,
    "signal": 64,
    "code": 64,
    "model_text": 32,
    "summary": 32,
    "receptive": 32,
    "memory": 64,
    "diagram": 16,
}


@st.cache_data(max_entries=ENTRIES["histograms"], ttl=TTL, show_spinner=False)
def cached_histograms(spec_json: str, lang: str = "en") -> dict[str, Any]:
    from builder.figures import histogram_grid

    model = builder.build_model(json.loads(spec_json))
    figure = histogram_grid(builder.weight_histograms(model), translate=i18n.translator(lang))
    return figure.to_plotly_json()


@st.cache_data(max_entries=ENTRIES["signal"], ttl=TTL, show_spinner=False)
def cached_signal(
    spec_json: str, batch_size: int, mode: str, other: str, lang: str = "en"
) -> dict[str, Any]:
    from builder.figures import compare_signal_figure, signal_figure

    translate = i18n.translator(lang)
    data = json.loads(spec_json)
    if other == "—":
        model = builder.build_model(data)
        stats = builder.activation_stats(
            model, None, batch_size=batch_size, seed=data["seed"], mode=mode
        )
        return signal_figure(stats, translate=translate).to_plotly_json()
    plan_b = presets.init_plan(other, data)
    mine, theirs = builder.compare_plans(
        data,
        data["init"],
        plan_b,
        batch_size=batch_size,
        seed=data["seed"],
        mode=mode,
        keep_layer_init=True,
    )
    labels = (i18n.translate("this design", lang), i18n.translate(other, lang))
    return compare_signal_figure(mine, theirs, labels, translate=translate).to_plotly_json()


@st.cache_data(max_entries=ENTRIES["code"], ttl=TTL, show_spinner=False)
def cached_code(spec_json: str, functional: bool) -> str:
    return builder.generate_code(json.loads(spec_json), functional_activations=functional)


def weights_file(spec_json: str) -> bytes:
    """The initialized weights (``.pt``): made on each click, never cached (model-sized)."""
    from builder.export import state_dict_bytes

    return state_dict_bytes(json.loads(spec_json))


@st.cache_data(max_entries=ENTRIES["model_text"], ttl=TTL, show_spinner=False)
def cached_model_text(spec_json: str) -> dict[str, str]:
    from builder.export import model_listing

    return model_listing(json.loads(spec_json))


@st.cache_data(max_entries=ENTRIES["summary"], ttl=TTL, show_spinner=False)
def cached_summary(spec_json: str) -> dict[str, Any]:
    from .format import shape_text

    analysis = builder.analyze(json.loads(spec_json))
    rows = [
        {
            "#": r.index + 1,
            "name": r.name,
            "inputs": ", ".join(r.inputs),
            "type": r.type,
            "output shape": shape_text(r.output_shape),
            "params": "" if r.params is None else f"{r.params:,}",
        }
        for r in analysis.layers
    ]
    return {
        "rows": rows,
        "ok": analysis.ok,
        "error": analysis.error,
        "params": analysis.total_params,
        "mult_adds": analysis.mult_adds,
        "memory": analysis.param_memory_mb,
    }


@st.cache_data(max_entries=ENTRIES["receptive"], ttl=TTL, show_spinner=False)
def cached_receptive(model_json: str, lang: str = "en") -> dict[str, Any]:
    from builder.receptive import receptive_field, receptive_field_figure

    records = receptive_field(json.loads(model_json))
    return receptive_field_figure(records, translate=i18n.translator(lang)).to_plotly_json()


@st.cache_data(max_entries=ENTRIES["memory"], ttl=TTL, show_spinner=False)
def cached_memory(
    model_json: str, batch: int, dtype: str, optimizer: str, lang: str = "en"
) -> dict[str, Any]:
    from builder.memory import GPU_SIZES_GB, fits, memory_estimate, memory_figure

    estimate = memory_estimate(json.loads(model_json), batch, dtype, optimizer)
    return {
        "figure": memory_figure(estimate, translate=i18n.translator(lang)).to_plotly_json(),
        "parts": {k.replace("_", " "): v for k, v in estimate.parts().items()},
        "peak": estimate.peak,
        "reserved": estimate.reserved,
        "total": estimate.total,
        "fits": {gb: fits(estimate.total, gb) for gb in GPU_SIZES_GB},
    }


@st.cache_data(max_entries=ENTRIES["diagram"], ttl=TTL, show_spinner=False)
def cached_diagram(spec_json: str) -> dict[str, Any]:
    from builder.diagram import diagram_png, diagram_svg

    data = json.loads(spec_json)
    return {"svg": diagram_svg(data), "png": diagram_png(data, scale=2.0)}
