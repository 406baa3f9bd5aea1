"""builder.assignment: constraints a teacher puts in a link, checked against analysis."""

from __future__ import annotations

import pytest

import builder
from builder.assignment import check, decode_assignment, encode_assignment, load_assignment
from builder.presets import preset


def _types(design):
    return [layer["type"] for layer in design["layers"]]


def test_checks_follow_the_analysis():
    design = preset()
    assignment = load_assignment(
        {
            "max_params": 60_000,
            "output_shape": [10],
            "allowed_types": ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"],
        }
    )
    results = {c.label: c for c in check(assignment, _types(design), builder.analyze(design))}
    assert results["the design is valid"].passed
    budget = results["at most 60,000 parameters"]
    assert not budget.passed and budget.detail == "62,006 of 60,000"
    assert results["output shape (10,)"].passed
    assert results["only Conv2d, ReLU, MaxPool2d, Flatten, Linear"].passed
    design["layers"][7]["out_features"] = 100  # fc1 120 -> 100: 400·100+100 fewer
    after = {c.label: c for c in check(assignment, _types(design), builder.analyze(design))}
    assert after["at most 60,000 parameters"].passed == (
        builder.analyze(design).total_params <= 60_000
    )
    design["layers"].append({"type": "Dropout"})
    after = {c.label: c for c in check(assignment, _types(design), builder.analyze(design))}
    assert not after["only Conv2d, ReLU, MaxPool2d, Flatten, Linear"].passed
    assert "Dropout" in after["only Conv2d, ReLU, MaxPool2d, Flatten, Linear"].detail


def test_link_round_trip():
    assignment = load_assignment(
        {"title": "Lab 1", "max_params": 1000, "locked": ["input_shape", "init"]}
    )
    assert decode_assignment(encode_assignment(assignment)) == assignment


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"max_params": -1}, "max_params must be a positive integer"),
        ({"max_params": True}, "max_params must be a positive integer"),
        ({"output_shape": [10, 0]}, "output_shape must be a positive integer"),
        ({"allowed_types": ["Conv3d"]}, "unknown layer type"),
        ({"locked": ["everything"]}, "locked can hold"),
        ({"title": "a\nb"}, "title must be printable"),
        ({"grading": 1}, "unknown key"),
        ([], "must be a JSON object"),
    ],
)
def test_bad_assignments(data, fragment):
    with pytest.raises(builder.SpecError, match=fragment):
        load_assignment(data)


def test_damaged_links():
    for link in ("", "1!!", "x" + "A" * 10, "1" + "A" * 20_000):
        with pytest.raises(builder.SpecError):
            decode_assignment(link)
