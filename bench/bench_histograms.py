"""Histograms vs initialization on a VGG16-sized network (138 M parameters), side by side.

Goal (the issue): ``weight_histograms`` for all tensors costs no more than torch initializing all
of them (ratio <= 1.0), with peak extra memory under 25 % of the weights' size, and the figures
JSON for all layers under 500 KB.

Run ``python bench/bench_histograms.py`` (about a minute on 2 cores). Timings are the median of
interleaved rounds whose order rotates, so background load hits every contestant alike. Peak
memory is measured in a fresh process per contestant: the model is built, the kernel's high-water
mark (``VmHWM``) is reset through ``/proc/self/clear_refs``, the contestant runs once, and the
new high-water mark minus the resident size before it is the extra memory it needed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from builder.figures import histogram_figure, histogram_grid
from builder.histograms import weight_histograms
from builder.initializers import apply_init
from builder.model import BuiltNet, build_model
from builder.presets import ARTICLE_INIT

MB = 1e6
KB = 1e3
VGG16_CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"]
VGG16_CONFIG += [512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16_spec() -> dict:
    """VGG16 (configuration D) on 3×224×224: 13 conv 3×3 + 3 Linear, 138,357,544 parameters."""
    layers: list[dict] = []
    for c in VGG16_CONFIG:
        if c == "M":
            layers.append({"type": "MaxPool2d", "kernel_size": 2})
        else:
            layers.append({"type": "Conv2d", "out_channels": c, "kernel_size": 3, "padding": 1})
            layers.append({"type": "ReLU"})
    layers += [{"type": "Flatten"}, {"type": "Linear", "out_features": 4096}, {"type": "ReLU"}]
    layers += [{"type": "Dropout"}, {"type": "Linear", "out_features": 4096}, {"type": "ReLU"}]
    layers += [{"type": "Dropout"}, {"type": "Linear", "out_features": 1000}]
    return {"name": "VGG16", "input_shape": [3, 224, 224], "layers": layers, "init": ARTICLE_INIT}


# --- the contestants -----------------------------------------------------------------------------


def init_default(net: BuiltNet, bins: int) -> None:
    """PyTorch's own initialization of every layer: ``reset_parameters()`` (Kaiming-uniform)."""
    for module in net.children():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()


def init_plan(net: BuiltNet, bins: int) -> None:
    """The article's plan through the real ``torch.nn.init`` calls: Xavier-normal conv weights,
    N(0, 0.01²) Linear weights, zero biases."""
    for name, param in net.named_parameters():
        apply_init(param, net.init_plan[name])


def histograms(net: BuiltNet, bins: int) -> None:
    """``builder.weight_histograms``: counts, edges, mean, std, min, max of every tensor."""
    weight_histograms(net, bins)


def plain_histc(net: BuiltNet, bins: int) -> None:
    """The baseline of the issue: ``torch.histc`` per tensor (it finds min / max itself)."""
    with torch.no_grad():
        for param in net.parameters():
            torch.histc(param, bins)


def plain_full(net: BuiltNet, bins: int) -> None:
    """Everything ``Histogram`` holds, the plain way: aminmax + histc + std_mean per tensor."""
    with torch.no_grad():
        for param in net.parameters():
            lo, hi = torch.aminmax(param)
            torch.histc(param, bins, lo.item(), hi.item())
            torch.std_mean(param)


CONTESTANTS: dict[str, Callable[[BuiltNet, int], None]] = {
    "init_default": init_default,
    "init_plan": init_plan,
    "weight_histograms": histograms,
    "histc": plain_histc,
    "aminmax+histc+std_mean": plain_full,
}
LABELS = {
    "init_default": "init: reset_parameters (PyTorch default)",
    "init_plan": "init: article plan (Xavier / N(0,0.01²) / 0)",
    "weight_histograms": "builder.weight_histograms",
    "histc": "baseline: torch.histc per tensor",
    "aminmax+histc+std_mean": "baseline: aminmax + histc + std_mean",
}


def time_all(net: BuiltNet, bins: int, rounds: int) -> dict[str, list[float]]:
    names = list(CONTESTANTS)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order
            gc.collect()
            start = time.perf_counter()
            CONTESTANTS[name](net, bins)
            times[name].append(time.perf_counter() - start)
    return times


# --- memory, in a fresh process per contestant -------------------------------------------------


def _status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def memory_child(name: str, bins: int) -> None:
    """Build VGG16, reset the RSS high-water mark, run one contestant, print the extra peak."""
    warm = build_model({"input_shape": [3, 8, 8], "layers": vgg16_spec()["layers"][:4]})
    for contestant in CONTESTANTS.values():  # load kernels and code pages outside the measurement
        contestant(warm, bins)
    net = build_model(vgg16_spec())
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    before = _status("VmRSS")
    CONTESTANTS[name](net, bins)
    peak = _status("VmHWM")
    print(json.dumps({"before": before, "peak": peak, "extra": peak - before, "reset": reset}))


def measure_memory(name: str, bins: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", name, "--bins", str(bins)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- figures -------------------------------------------------------------------------------------


def figures_size(net: BuiltNet, bins: int) -> tuple[int, int, int]:
    hists = weight_histograms(net, bins)
    singles = sum(len(histogram_figure(h).to_json().encode()) for h in hists)
    grid = len(histogram_grid(hists).to_json().encode())
    return len(hists), singles, grid


# --- report --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--bins", type=int, default=60)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.bins)
        return

    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    net = build_model(vgg16_spec())
    build = time.perf_counter() - start
    params = list(net.parameters())
    numel = sum(p.numel() for p in params)
    weight_bytes = sum(p.numel() * p.element_size() for p in params)
    print(
        f"VGG16: {numel:,} parameters in {len(params)} tensors ({weight_bytes / MB:.1f} MB), "
        f"bins={args.bins}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"build_model (construct + default init + article plan): {build:.2f} s\n")

    times = time_all(net, args.bins, args.rounds)
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"{'time for all 32 tensors':48s} {'median':>8s} {'min':>8s}  per value")
    for name, label in LABELS.items():
        print(
            f"{label:48s} {median[name]:7.3f}s {min(times[name]):7.3f}s "
            f"{median[name] / numel * 1e9:6.2f} ns"
        )
    hist = median["weight_histograms"]
    print()
    for base in ("init_default", "init_plan"):
        ratio = hist / median[base]
        verdict = "ok" if ratio <= 1.0 else "OVER"
        label = f"ratio weight_histograms / {base}"
        print(f"{label:48s} {ratio:7.2f}   (goal <= 1.0: {verdict})")
    for name in ("histc", "aminmax+histc+std_mean"):
        label = f"ratio {name} / init_default"
        print(f"{label:48s} {median[name] / median['init_default']:7.2f}")
    print(f"(load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end)")

    if not args.no_memory:
        print(f"\npeak extra memory (fresh process each; weights are {weight_bytes / MB:.0f} MB)")
        for name in ("weight_histograms", "histc", "aminmax+histc+std_mean", "init_default"):
            mem = measure_memory(name, args.bins)
            share = mem["extra"] / weight_bytes
            note = "" if mem["reset"] else "  (VmHWM could not be reset: includes the build)"
            goal = ""
            if name == "weight_histograms":
                goal = f"  (goal < 25 %: {'ok' if share < 0.25 else 'OVER'})"
            print(f"{LABELS[name]:48s} {mem['extra'] / MB:8.1f} MB  {share:6.1%}{goal}{note}")

    count, singles, grid = figures_size(net, args.bins)
    total = singles + grid
    print(
        f"\nfigures JSON: {count} histogram figures {singles / KB:.0f} KB + grid {grid / KB:.0f} KB"
        f" = {total / KB:.0f} KB (goal < 500 KB: {'ok' if total < 500 * KB else 'OVER'})"
    )


if __name__ == "__main__":
    main()
