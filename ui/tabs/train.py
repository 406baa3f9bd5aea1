"""Train: a few epochs on the digits, held-out accuracy per epoch, bounded in time, stoppable."""

from __future__ import annotations

import json
import math
from typing import Any

import streamlit as st

import builder
from builder import presets

from ..format import esc
from . import Context, heavy_ok

NO_PLAN = "—"


def _controls(largest: int) -> dict[str, Any]:
    from builder.training import DEFAULT_BATCH_SIZE, MAX_EPOCHS, OPTIMIZERS

    if st.session_state.get("train_batch", 0) > largest:  # a new design may allow less
        st.session_state.train_batch = min(DEFAULT_BATCH_SIZE, largest)
    cols = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    return {
        "epochs": cols[0].number_input(
            "Epochs", min_value=1, max_value=MAX_EPOCHS, value=3, key="train_epochs"
        ),
        "optimizer": cols[1].selectbox("Optimizer", list(OPTIMIZERS), key="train_opt"),
        "batch": cols[2].number_input(
            "Batch size",
            min_value=1,
            max_value=largest,
            value=min(DEFAULT_BATCH_SIZE, largest),
            key="train_batch",
        ),
        "other": cols[3].selectbox(
            "Also train with",
            [NO_PLAN, *[p for p in presets.INIT_PLANS if p != "this design's plan"]],
            key="train_other",
        ),
    }


def _run(data: dict[str, Any], options: dict[str, Any], progress: Any) -> list[Any]:
    """One run, or two with another initializer plan; the progress bar follows the batches."""
    from builder.training import compare_training, train

    bar = progress.progress(0.0, text="training…")

    def on_batch(fraction: float) -> bool:
        bar.progress(min(1.0, fraction), text=f"training… {fraction:.0%}")
        return True

    common = {
        "epochs": int(options["epochs"]),
        "batch_size": int(options["batch"]),
        "optimizer": options["optimizer"],
        "seed": data["seed"],
        "on_batch": on_batch,
    }
    if options["other"] == NO_PLAN:
        return [train(data, **common)]
    plan = presets.init_plan(options["other"], data)
    return list(compare_training(data, data["init"], plan, keep_layer_init=True, **common))


def _summary(labels: list[str], results: list[Any]) -> str:
    return " · ".join(
        (
            f"{label}: {r.curve[-1].test_accuracy:.1%} held-out accuracy"
            if math.isfinite(r.curve[-1].test_accuracy)
            else f"{label}: no accuracy yet"
        )
        + f" after {len(r.epochs)} epoch(s), {r.elapsed:.1f} s ({r.stopped_reason})"
        for label, r in zip(labels, results)
    )


def render(ctx: Context) -> None:
    from builder.figures import log_where_spread
    from builder.training import TrainingBusy, training_batch_limit, training_figure

    if not heavy_ok(ctx.analysis):
        return
    try:  # the builder's memory and compute caps for training this design
        largest = training_batch_limit(ctx.spec, ctx.analysis)
    except builder.SpecError as exc:
        st.info(f"Training is not offered for this design: {esc(exc)}")
        return
    st.caption(
        "A few epochs on scikit-learn's handwritten digits (1,797 images of 8×8, resized to the "
        "design's input), held-out accuracy per epoch. Runs on the server, bounded in time; "
        "press Stop (or any control) to cancel."
    )
    options = _controls(largest)
    go_cols = st.columns([1, 1, 4])
    start = go_cols[0].button(
        "Train", key="train_go", type="primary", icon=":material/play_arrow:", width="stretch"
    )
    go_cols[1].button(
        "Stop",
        key="train_stop",
        icon=":material/stop:",
        width="stretch",
        help="cancel the run (any click does: the run stops at the next batch)",
    )
    chart, progress = st.empty(), st.empty()
    kept = st.session_state.get("train_result")
    if not start:
        if kept is not None and kept["spec"] == ctx.model_json:
            chart.plotly_chart(kept["figure"], width="stretch", key="train_chart")
            st.caption(kept["summary"])
        return
    labels = ["this design"] if options["other"] == NO_PLAN else ["this design", options["other"]]
    try:
        results = _run(json.loads(ctx.model_json), options, progress)
    except (builder.SpecError, TrainingBusy) as exc:
        progress.empty()
        st.error(esc(exc))
        return
    progress.empty()
    figure = log_where_spread(training_figure(results, labels)).to_plotly_json()
    summary = _summary(labels, results)
    st.session_state.train_result = {"spec": ctx.model_json, "figure": figure, "summary": summary}
    chart.plotly_chart(figure, width="stretch", key="train_chart")
    st.caption(summary)
