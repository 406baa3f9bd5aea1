"""Train: a few epochs on the digits or an uploaded file, held-out accuracy per epoch, bounded
in time, stoppable; then what the network learned, and the run as a script or notebook."""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import streamlit as st

import builder
from builder import presets
from builder.messages import N_, message

from .. import actions, i18n
from ..format import esc
from . import THIS_DESIGN, Context, heavy_ok

NO_PLAN = "—"
DIGITS = N_("Handwritten digits (built in)")
UPLOAD = N_("Upload a file")
REASONS = {
    "done": N_("done"),
    "cancelled": N_("cancelled"),
    "time limit": N_("time limit"),
    "diverged": N_("diverged"),
}
"""``builder.training.STOP_REASONS``, as ids to show them by."""


def _controls(largest: int, lang: str) -> dict[str, Any]:
    from builder.training import DEFAULT_BATCH_SIZE, MAX_EPOCHS, OPTIMIZERS

    if st.session_state.get("train_batch", 0) > largest:  # a new design may allow less
        st.session_state.train_batch = min(DEFAULT_BATCH_SIZE, largest)
    cols = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    return {
        "epochs": cols[0].number_input(
            i18n.translate("Epochs", lang),
            min_value=1,
            max_value=MAX_EPOCHS,
            value=3,
            key="train_epochs",
        ),
        "optimizer": cols[1].selectbox(
            i18n.translate("Optimizer", lang), list(OPTIMIZERS), key="train_opt"
        ),
        "batch": cols[2].number_input(
            i18n.translate("Batch size", lang),
            min_value=1,
            max_value=largest,
            value=min(DEFAULT_BATCH_SIZE, largest),
            key="train_batch",
        ),
        "other": cols[3].selectbox(
            i18n.translate("Also train with", lang),
            [NO_PLAN, *[p for p in presets.INIT_PLANS if p != "this design's plan"]],
            key="train_other",
            format_func=lambda plan: i18n.translate(plan, lang),
        ),
    }


def _run(
    data: dict[str, Any], options: dict[str, Any], progress: Any, dataset: Any, lang: str
) -> list[Any]:
    """One run, or two with another initializer plan; the progress bar follows the batches."""
    from builder.training import compare_training, train

    bar = progress.progress(0.0, text=i18n.translate("training…", lang))

    def on_batch(fraction: float) -> bool:
        text = i18n.translate("training… {fraction}", lang, fraction=f"{fraction:.0%}")
        bar.progress(min(1.0, fraction), text=text)
        return True

    common = {
        "epochs": int(options["epochs"]),
        "batch_size": int(options["batch"]),
        "optimizer": options["optimizer"],
        "seed": data["seed"],
        "on_batch": on_batch,
        "data": dataset,
    }
    if options["other"] == NO_PLAN:
        return [train(data, **common)]
    plan = presets.init_plan(options["other"], data)
    return list(compare_training(data, data["init"], plan, keep_layer_init=True, **common))


def _summary(labels: list[str], results: list[Any], lang: str = i18n.ENGLISH) -> str:
    """One line per run: its held-out accuracy, epochs, seconds and why it stopped."""
    parts = []
    for label, r in zip(labels, results):
        accuracy = r.curve[-1].test_accuracy
        if math.isfinite(accuracy):
            head = i18n.translate(
                "{label}: {accuracy} held-out accuracy",
                lang,
                label=label,
                accuracy=f"{accuracy:.1%}",
            )
        else:
            head = i18n.translate("{label}: no accuracy yet", lang, label=label)
        reason = i18n.translate(REASONS.get(r.stopped_reason, r.stopped_reason), lang)
        tail = i18n.translate(
            " after {epochs} epoch(s), {seconds} s ({reason})",
            lang,
            epochs=len(r.epochs),
            seconds=f"{r.elapsed:.1f}",
            reason=reason,
        )
        parts.append(head + tail)
    return " · ".join(parts)


def _dataset(ctx: Context, lang: str) -> tuple[bool, Any]:
    """``(ready, dataset)``: the data to train on (None: the digits); not ready while an upload
    is missing or refused (the message says why)."""
    from builder.datasets import load_upload
    from builder.limits import MAX_DATA_UPLOAD_BYTES

    source = st.radio(
        i18n.translate("Data", lang),
        [DIGITS, UPLOAD],
        horizontal=True,
        key="train_source",
        format_func=lambda option: i18n.translate(option, lang),
    )
    if source == DIGITS:
        st.session_state.pop("train_data", None)  # an upload's samples are not kept
        return True, None
    upload = st.file_uploader(
        i18n.translate(
            "An .npz (arrays x and y), a CSV (a label column and feature or pixel columns) or a "
            ".zip of class folders of images",
            lang,
        ),
        type=["npz", "csv", "zip"],
        key="train_upload",
        max_upload_size=math.ceil(MAX_DATA_UPLOAD_BYTES / 2**20),
        help=i18n.translate(
            "at most {size} MB; read in memory, nothing is kept",
            lang,
            size=f"{MAX_DATA_UPLOAD_BYTES / 1e6:g}",
        ),
    )
    if upload is None:
        st.info(i18n.translate("Upload a file to train on it.", lang))
        return False, None
    key = (upload.file_id, tuple(ctx.spec.input_shape))
    kept = st.session_state.get("train_data")
    if kept is None or kept["key"] != key:
        try:
            if upload.size > MAX_DATA_UPLOAD_BYTES:
                raise builder.SpecError(
                    message(
                        "the data file has {size} bytes; the limit is {limit}",
                        size=f"{upload.size:,}",
                        limit=f"{MAX_DATA_UPLOAD_BYTES:,}",
                    )
                )
            dataset = load_upload(upload.name, upload.getvalue(), ctx.spec.input_shape)
            kept = {"key": key, "dataset": dataset, "error": None}
        except builder.SpecError as exc:
            kept = {"key": key, "dataset": None, "error": i18n.render_error(exc, lang)}
        st.session_state.train_data = kept
    if kept["error"] is not None:
        st.error(f"{esc(upload.name)}: {esc(kept['error'])}")
        return False, None
    dataset = kept["dataset"]
    st.caption(f"{esc(dataset.name)}: {esc(dataset.describe())}")
    return _outputs_fit(ctx, dataset, lang), dataset


def _outputs_fit(ctx: Context, dataset: Any, lang: str) -> bool:
    """Whether the design has an output per class; if not, a one-click fix where one field
    does it."""
    from builder.datasets import output_fix

    classes = dataset.num_classes
    out = ctx.analysis.output_shape
    if out == (classes,):
        return True
    fits = out is not None and len(out) == 1 and out[0] >= classes
    outputs = "×".join(map(str, out)) if out else i18n.translate("no", lang)
    st.warning(
        i18n.translate(
            "The design outputs {outputs} values; the data has {classes} classes",
            lang,
            outputs=esc(outputs),
            classes=classes,
        )
        + (i18n.translate(" (the extra outputs are never right).", lang) if fits else ".")
    )
    fix = output_fix(ctx.design, classes)
    if fix is not None:
        st.button(
            i18n.translate("Set the last layer's out_features to {classes}", lang, classes=classes),
            key="train_fix_outputs",
            icon=":material/build:",
            on_click=actions.on_fix,
            args=(fix,),
        )
    return fits


def _take_home(ctx: Context, options: dict[str, Any], dataset: Any, lang: str) -> None:
    """The run as a script and a notebook to download (made on click)."""
    from builder.export import file_stem
    from builder.training_code import generate_training_code, generate_training_notebook

    settings = {
        "optimizer": options["optimizer"],
        "batch_size": int(options["batch"]),
        "epochs": int(options["epochs"]),
        "seed": ctx.spec.seed,
        "data": "digits" if dataset is None else {"format": dataset.format, "path": dataset.name},
    }
    try:
        generate_training_code(ctx.spec, **settings)  # checked now, so a click cannot fail
    except builder.SpecError as exc:
        error = esc(i18n.render_error(exc, lang))
        st.caption(i18n.translate("No training script for this design: {error}", lang, error=error))
        return
    stem = f"train_{file_stem(ctx.spec)}"
    cols = st.columns(2)
    for col, label, suffix, make, mime in (
        (
            cols[0],
            N_("Download training script (.py)"),
            "py",
            generate_training_code,
            "text/x-python",
        ),
        (
            cols[1],
            N_("Download training notebook (.ipynb)"),
            "ipynb",
            generate_training_notebook,
            "application/x-ipynb+json",
        ),
    ):
        col.download_button(
            i18n.translate(label, lang),
            data=functools.partial(_encoded, make, ctx.spec, settings),
            file_name=f"{stem}.{suffix}",
            mime=mime,
            key=f"train_download_{suffix}",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )


def _encoded(make: Any, spec: Any, settings: dict[str, Any]) -> bytes:
    return make(spec, **settings).encode("utf-8")


def _show_learned(kept: dict[str, Any], lang: str) -> None:
    """Confusion matrix, per-class accuracy, misclassified examples, filters; the downloads."""
    learned = kept["learned"]
    if learned is None:
        return
    st.subheader(i18n.translate("What it learned", lang))
    cols = st.columns(2)
    cols[0].plotly_chart(learned.confusion, width="stretch", key="train_confusion")
    cols[1].plotly_chart(learned.per_class, width="stretch", key="train_per_class")
    if learned.misclassified is not None:
        st.plotly_chart(learned.misclassified, width="stretch", key="train_wrong")
    else:
        st.caption(i18n.translate("Every held-out sample was classified right.", lang))
    if learned.filters is not None:
        st.plotly_chart(learned.filters, width="stretch", key="train_filters")
    cols = st.columns(2)
    cols[0].download_button(
        i18n.translate("Download trained weights (.pt)", lang),
        data=learned.weights,
        file_name=f"{kept['stem']}_trained.pt",
        mime="application/octet-stream",
        key="train_weights",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        help=i18n.translate(
            "torch.load(path, weights_only=True) into the class the Code tab exports", lang
        ),
    )
    cols[1].download_button(
        i18n.translate("Download curves (.csv)", lang),
        data=learned.curves,
        file_name=f"{kept['stem']}_curves.csv",
        mime="text/csv",
        key="train_curves",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
    )


def _show(kept: dict[str, Any], chart: Any, lang: str) -> None:
    chart.plotly_chart(kept["figure"], width="stretch", key="train_chart")
    st.caption(kept["summary"])
    _show_learned(kept, lang)


def render(ctx: Context) -> None:
    from builder.devices import pick_device
    from builder.export import file_stem
    from builder.figures import log_where_spread
    from builder.learned import report
    from builder.training import TrainingBusy, training_batch_limit, training_figure

    if not heavy_ok(ctx.analysis):
        return
    lang = i18n.language()
    try:  # the builder's memory and compute caps for training this design
        largest = training_batch_limit(ctx.spec, ctx.analysis)
    except builder.SpecError as exc:
        error = esc(i18n.render_error(exc, lang))
        st.info(
            i18n.translate("Training is not offered for this design: {error}", lang, error=error)
        )
        return
    st.caption(
        i18n.translate(
            "A few epochs on scikit-learn's handwritten digits (1,797 images of 8×8) or your own "
            "data, resized to the design's input; held-out accuracy per epoch. Runs on the server "
            "(on: {device}), bounded in time; press Stop (or any control) to cancel.",
            lang,
            device=esc(pick_device().label),
        )
    )
    ready, dataset = _dataset(ctx, lang)
    options = _controls(largest, lang)
    go_cols = st.columns([1, 1, 4])
    start = go_cols[0].button(
        i18n.translate("Train", lang),
        key="train_go",
        type="primary",
        icon=":material/play_arrow:",
        width="stretch",
        disabled=not ready,
    )
    go_cols[1].button(
        i18n.translate("Stop", lang),
        key="train_stop",
        icon=":material/stop:",
        width="stretch",
        help=i18n.translate(
            "cancel the run (any click does: the run stops at the next batch)", lang
        ),
    )
    _take_home(ctx, options, dataset, lang)
    chart, progress = st.empty(), st.empty()
    kept = st.session_state.get("train_result")
    data_name = "digits" if dataset is None else dataset.name
    if not start:
        if kept is not None and (kept["spec"], kept["data"]) == (ctx.model_json, data_name):
            _show(kept, chart, lang)
        return
    names = [THIS_DESIGN] if options["other"] == NO_PLAN else [THIS_DESIGN, options["other"]]
    labels = [i18n.translate(name, lang) for name in names]
    try:
        results = _run(json.loads(ctx.model_json), options, progress, dataset, lang)
    except (builder.SpecError, TrainingBusy) as exc:
        progress.empty()
        st.error(esc(i18n.render_error(exc, lang)))
        return
    progress.empty()
    first = results[0]
    trained = first.model is not None and first.epochs and first.stopped_reason != "diverged"
    kept = {
        "spec": ctx.model_json,
        "data": data_name,
        "figure": log_where_spread(training_figure(results, labels)).to_plotly_json(),
        "summary": _summary(labels, results, lang),
        "learned": report(results, labels) if trained else None,
        "stem": file_stem(ctx.spec),
    }
    st.session_state.train_result = kept
    _show(kept, chart, lang)
