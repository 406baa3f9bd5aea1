"""Server-side cost of one edit -> rerun, measured with Streamlit's AppTest, in one run.

For the article's LeNet and a 40-layer network: the time of a rerun after an edit (analysis
path), and with the Histograms tab open, whether an edit that leaves the model unchanged
rebuilds anything (it must not: the heavy work is cached on the spec's canonical JSON).

Run: python bench/bench_app.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import builder  # noqa: E402
from builder.presets import preset  # noqa: E402

APP = str(ROOT / "streamlit_app.py")
BUILDS = {"count": 0}
_real_build = builder.build_model


def _counting_build(spec):
    BUILDS["count"] += 1
    return _real_build(spec)


def forty_layers() -> dict:
    layers: list[dict] = []
    for block in range(9):
        layers += [
            {"type": "Conv2d", "out_channels": 16 + 8 * block, "kernel_size": 3, "padding": 1},
            {"type": "BatchNorm2d"},
            {"type": "ReLU"},
            {"type": "Dropout2d", "p": 0.1},
        ]
    layers += [
        {"type": "AdaptiveAvgPool2d", "output_size": 1},
        {"type": "Flatten"},
        {"type": "Linear", "out_features": 64},
        {"type": "Linear", "out_features": 10},
    ]
    return {"name": "Deep40", "input_shape": [3, 32, 32], "layers": layers}


def timed_edits(design: dict, tab: str, repeats: int = 15) -> tuple[list[float], AppTest]:
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["view"] = tab
    at.run()
    at.session_state["design"] = design
    at.session_state["uids"] = list(range(1000, 1000 + len(design["layers"])))
    at.session_state["card:1000"] = True  # the card being edited is open; the others closed
    at.run()
    times = []
    for i in range(repeats):
        box = at.number_input(key="w:1000:out_channels")
        box.set_value(6 + (i % 2))
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        assert not at.exception, at.exception
    return times, at


def main() -> None:
    builder.build_model = _counting_build
    print(f"{'design':10} {'tab':12} {'layers':>6} {'edit→rerun median ms':>21} {'p95 ms':>8}")
    for name, design in (("LeNet", preset()), ("Deep40", forty_layers())):
        times, _ = timed_edits(design, "Initialization")
        ms = sorted(t * 1e3 for t in times[3:])
        print(
            f"{name:10} {'Initialization':12} {len(design['layers']):>6} "
            f"{statistics.median(ms):>21.1f} {ms[int(0.95 * (len(ms) - 1))]:>8.1f}"
        )

    # Histograms open: an edit that changes the model rebuilds once; one that does not, never.
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["view"] = "Histograms"
    at.session_state["card:0"] = True
    at.run()
    BUILDS["count"] = 0
    start = time.perf_counter()
    at.number_input(key="w:0:out_channels").set_value(8).run()
    changed = time.perf_counter() - start
    rebuilt = BUILDS["count"]
    BUILDS["count"] = 0
    start = time.perf_counter()
    at.selectbox(key="explain").set_value("1. conv1").run()
    at.text_input(key="w:name").input("Renamed").run()
    unchanged = (time.perf_counter() - start) / 2
    print(
        f"\nHistograms tab open, LeNet: an edit that changes the model: {changed * 1e3:.0f} ms, "
        f"{rebuilt} model build(s);"
    )
    print(
        f"edits that leave the model unchanged (explain, rename): {unchanged * 1e3:.0f} ms each, "
        f"{BUILDS['count']} model builds"
    )
    builder.build_model = _real_build


if __name__ == "__main__":
    main()
