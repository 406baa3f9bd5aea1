"""Edit to re-render in a real browser: Chromium (Playwright) against ``streamlit run``.

For each design the page is opened from a share link, the first layer's card is opened, and its
``out_channels`` is edited 50 times (alternating two values), as a person types a number and
presses Enter. One edit's time runs from the Enter keydown (``performance.now()`` in the page)
until the page shows the result: the script run has finished, the table's row for that layer
shows the parameter count ``builder.analyze`` gives for the edited design, and the live diagram
has been redrawn with the layer's new output shape (its block's data in the Plotly graph). Times
are measured inside the page, sampled every animation frame, so Playwright's own round trips do
not count.

Designs: the article's LeNet (12 layers), VGG-16 with its classifier on 3×224×224 (38 layers,
138 M parameters), a ResNet-18-sized plain stack (the 17 convolutions of ResNet-18 with
BatchNorm and ReLU, no skips: 55 layers, 11.5 M parameters), the ResNet-50 preset (a graph,
flattened) and ResNet-152 (``tests.designs``). A design of more than ``BIG_TABLE`` layers shows
a scrolling grid instead of the static table: there the first card's header (its output shape
and parameter count) is what must show the edit, with the diagram. Goals: p95 < 250 ms for the
LeNet, < 500 ms for ResNet-50.

Run: python bench/bench_browser.py [--edits 50] [--designs lenet,vgg,deep,resnet50,resnet152]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import builder  # noqa: E402
from builder.diagram import shape_label  # noqa: E402
from builder.presets import preset  # noqa: E402
from builder.share import encode_design  # noqa: E402
from tests.designs import resnet152, vgg16_features  # noqa: E402
from tests.server import streamlit_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FLAGS += ["--disable-component-update", "--disable-sync", "--no-first-run"]
GOALS_MS = {"lenet": 250.0, "resnet50": 500.0}

ARM = """() => {
  window.__nbEnter = null;
  if (window.__nbArmed) return;
  window.__nbArmed = true;
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') window.__nbEnter = performance.now();
  }, true);
}"""

# done when the run has finished, row 1's params cell (or, with no static table, the first
# card's header) and the diagram's block for layer 1 (its shape, in the bar trace's customdata)
# show the edit
RENDERED = """([params, label]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const rows = document.querySelectorAll('[data-testid="stTable"] tbody tr');
  if (rows.length) {
    if (![...rows[1].querySelectorAll('td')].some((td) => td.innerText === params)) return false;
  } else {
    const head = document.querySelector('.st-key-head-0');
    if (!head || !head.innerText.includes(params + ' params')) return false;
  }
  const plot = document.querySelector('[class*="st-key-diagram_pick"] .js-plotly-plot');
  const meta = plot && plot.data && plot.data[0] ? plot.data[0].customdata || [] : [];
  if (!meta.some((m) => m[0] === 1 && m[3] === label)) return false;
  return performance.now() - window.__nbEnter;
}"""


def vgg16() -> dict[str, Any]:
    head = [{"type": "Flatten"}, {"type": "Linear", "out_features": 4096}, {"type": "ReLU"}]
    head += [{"type": "Linear", "out_features": 4096}, {"type": "ReLU"}]
    head += [{"type": "Linear", "out_features": 1000}]
    return {"name": "VGG16", "input_shape": [3, 224, 224], "layers": vgg16_features() + head}


def resnet18_plain() -> dict[str, Any]:
    """ResNet-18's stem and 16 block convolutions, each with BatchNorm and ReLU, no skips."""
    layers: list[dict[str, Any]] = [
        {"type": "Conv2d", "out_channels": 64, "kernel_size": 7, "stride": 2, "padding": 3},
        {"type": "BatchNorm2d"},
        {"type": "ReLU"},
        {"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "padding": 1},
    ]
    for channels, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for block in range(4):
            first = stride if block == 0 else 1
            layers.append(
                {"type": "Conv2d", "out_channels": channels, "kernel_size": 3, "padding": 1}
                | ({"stride": first} if first != 1 else {})
            )
            layers += [{"type": "BatchNorm2d"}, {"type": "ReLU"}]
    layers += [{"type": "AdaptiveAvgPool2d", "output_size": 1}, {"type": "Flatten"}]
    layers.append({"type": "Linear", "out_features": 1000})
    return {"name": "ResNet18Plain", "input_shape": [3, 224, 224], "layers": layers}


DESIGNS = {
    "lenet": preset,
    "vgg": vgg16,
    "deep": resnet18_plain,
    "resnet50": lambda: preset("ResNet-50"),
    "resnet152": resnet152,
}


def expected(design: dict[str, Any], channels: int) -> tuple[str, str]:
    """Row 1's parameter count and the diagram's shape label after the edit (from builder)."""
    edited = copy.deepcopy(design)
    edited["layers"][0]["out_channels"] = channels
    row = builder.analyze(edited).layers[0]
    return f"{row.params:,}", shape_label(row.output_shape)


def measure(browser: Any, url: str, design: dict[str, Any], edits: int) -> list[float]:
    """Milliseconds from Enter to the rendered result, one per edit."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    start = time.perf_counter()
    page.goto(f"{url}/?d={encode_design(design)}")
    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=120_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    print(f"  {design.get('name', '?')}: page open in {time.perf_counter() - start:.1f} s")
    page.locator(".st-key-head-0").get_by_role("button").click()
    box = page.locator(".st-key-w-0-out_channels input")
    box.wait_for(timeout=60_000)
    base = int(design["layers"][0]["out_channels"])
    times = []
    for i in range(edits + 1):  # the first edit warms the caches and is not counted
        channels = base + 1 if i % 2 == 0 else base
        params, label = expected(design, channels)
        page.evaluate(ARM)
        box.fill(str(channels))
        box.press("Enter")
        handle = page.wait_for_function(
            RENDERED, arg=[params, label], polling="raf", timeout=60_000
        )
        if i:
            times.append(float(handle.json_value()))
        time.sleep(0.05)  # a person does not type the next value in the same frame
    page.close()
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--designs", default=",".join(DESIGNS))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    cores = os.cpu_count()
    print(f"load average {os.getloadavg()[0]:.1f} on {cores} cores (the figures include it)")
    print(f"{'design':<8} {'layers':>6} {'params':>13} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    with streamlit_server() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for name in args.designs.split(","):
            design = DESIGNS[name]()
            times = measure(browser, server.url, design, args.edits)
            total = builder.analyze(design).total_params
            p50, p95 = statistics.median(times), percentile(times, 95)
            goal = GOALS_MS.get(name)
            flag = "" if goal is None else ("  (goal met)" if p95 < goal else "  (GOAL MISSED)")
            print(
                f"{name:<8} {len(design['layers']):>6} {total:>13,} {p50:>8.0f} {p95:>8.0f} "
                f"{max(times):>8.0f}{flag}"
            )
        browser.close()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
