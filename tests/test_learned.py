"""What it learned (builder.learned) against independent oracles: sklearn.metrics on the trained
model's own predictions (recomputed here from ``digits_dataset``), the first conv's weights
normalized with numpy, the exported class (``exec`` of ``generate_code``) loading the ``.pt``,
and the CSV read back with the csv module."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, recall_score

from builder import generate_code, learned, load_spec
from builder.datasets import load_upload
from builder.presets import DEFAULT_PRESET, preset
from builder.training import digits_dataset, train


@pytest.fixture(scope="module")
def lenet_run():
    spec = preset(DEFAULT_PRESET)
    return spec, train(spec, epochs=1, seed=3)


def _predictions(spec, result):
    _, _, x_test, y_test = digits_dataset(spec["input_shape"], seed=3)
    with torch.no_grad():
        return x_test, y_test.numpy(), result.model.eval()(x_test).argmax(1).numpy()


def test_confusion_and_per_class_accuracy_match_sklearn(lenet_run):
    spec, result = lenet_run
    _, y_true, y_pred = _predictions(spec, result)
    record = learned.learned(result)
    assert np.array_equal(record.y_true, y_true) and np.array_equal(record.y_pred, y_pred)
    assert np.array_equal(record.confusion, confusion_matrix(y_true, y_pred, labels=range(10)))
    assert np.allclose(record.per_class, recall_score(y_true, y_pred, average=None))
    assert math.isclose(record.accuracy, result.test_accuracy)
    assert len(record.wrong) == int((y_true != y_pred).sum())


def test_misclassified_grid_shows_true_and_predicted(lenet_run):
    spec, result = lenet_run
    _, y_true, y_pred = _predictions(spec, result)
    record = learned.learned(result)
    figure = learned.misclassified_figure(result, record)
    wrong = np.flatnonzero(y_true != y_pred)[: learned.MAX_SHOWN_EXAMPLES]
    titles = [a.text for a in figure.layout.annotations]
    assert titles == [f"{y_true[i]} → {y_pred[i]}" for i in wrong]
    assert len(figure.data) == len(wrong)
    first = np.array(figure.data[0].z)  # the raw 8×8 digit, scaled to [0, 1]
    raw = result.split.dataset.images[result.split.test_idx[wrong[0]], 0].numpy()
    assert np.allclose(first, (raw - raw.min()) / (raw.max() - raw.min()), atol=1e-3)


def test_filter_images_are_the_first_convs_weights_normalized(lenet_run):
    _, result = lenet_run
    w = result.model.conv1.weight.detach().numpy().astype(np.float64)  # LeNet's first layer
    low = w.min(axis=(1, 2, 3), keepdims=True)
    high = w.max(axis=(1, 2, 3), keepdims=True)
    assert np.allclose(learned.filter_images(result.model), (w - low) / (high - low), atol=1e-6)
    figure = learned.filters_figure(result.model)
    assert len(figure.data) == min(len(w), learned.MAX_SHOWN_FILTERS)


def test_no_filters_without_a_convolution():
    spec = {
        "input_shape": [64],
        "layers": [{"type": "Linear", "out_features": 10}],
    }
    result = train(spec, epochs=1)
    assert learned.filter_images(result.model) is None
    assert learned.report([result], ["mlp"]).filters is None


def test_trained_weights_load_into_the_exported_class_with_equal_outputs(lenet_run):
    spec, result = lenet_run
    namespace: dict = {"__name__": "exported"}
    exec(compile(generate_code(spec), "exported.py", "exec"), namespace)
    model = namespace[load_spec(spec).class_name]()
    state = torch.load(io.BytesIO(learned.weights_bytes(result)), weights_only=True)
    model.load_state_dict(state, strict=True)
    x_test, _, _ = _predictions(spec, result)
    with torch.no_grad():
        assert torch.equal(model.eval()(x_test), result.model.eval()(x_test))


def test_curves_csv_parses_to_the_runs_numbers(lenet_run):
    _, result = lenet_run
    rows = list(csv.DictReader(io.StringIO(learned.curves_csv([result], ["a"]))))
    assert [int(r["epoch"]) for r in rows] == [e.epoch for e in result.curve]
    assert rows[0]["train_loss"] == ""  # epoch 0: before training
    for row, epoch in zip(rows, result.curve):
        assert row["run"] == "a"
        assert float(row["test_loss"]) == epoch.test_loss
        assert float(row["test_accuracy"]) == epoch.test_accuracy
    assert float(rows[1]["train_loss"]) == result.epochs[0].train_loss


def test_uploaded_classes_name_the_confusion_matrix():
    rng = np.random.default_rng(1)
    x = rng.random((60, 8, 8)).astype(np.float32)
    y = np.array(["ant", "bee", "cat"] * 20)
    x[y == "bee"] += 2  # separable
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    data = load_upload("bugs.npz", buffer.getvalue(), [1, 8, 8])
    spec = {
        "input_shape": [1, 8, 8],
        "layers": [{"type": "Flatten"}, {"type": "Linear", "out_features": 3}],
    }
    result = train(spec, epochs=2, data=data)
    record = learned.learned(result)
    assert record.classes == ("ant", "bee", "cat")
    assert record.confusion.sum() == result.settings["n_test"]
    y_true = data.labels[result.split.test_idx].numpy()
    assert np.array_equal(record.y_true, y_true)
    with torch.no_grad():
        x_test, _ = result.split.batch(result.split.test_idx)
        assert np.array_equal(record.y_pred, result.model(x_test).argmax(1).numpy())
    report = learned.report([result], ["this design"])
    assert report.confusion["data"][0]["x"] == ["ant", "bee", "cat"]
